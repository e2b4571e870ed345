import CIM
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// Finds the associations that reference given instances — the ones PostgreSQL's
/// `ON DELETE CASCADE` removes with them — so that their deletion is reported as events too.
///
/// One `UNION ALL` over every concrete association table of the model (`ONLY`, each reference
/// column indexed), built once per model.
struct CascadeFinder: Sendable {
    /// One arm per reference column: `SELECT id, target … WHERE reference = ANY(the ids)`.
    let arms: [SQL]

    init(catalog: ModelCatalog) {
        arms = catalog.classes.filter { $0.isAssociation && !$0.isAbstract }.flatMap { cls -> [SQL] in
            cls.properties.filter(\.isReference).map { reference -> SQL in
                """
                SELECT t.\(SQLNames.instanceID) AS id, t.\(reference.sqlColumn) AS target FROM ONLY \(cls.sqlTable) t
                WHERE t.\(reference.sqlColumn) = ANY((SELECT ids FROM gone)::bigint[])
                """
            }
        }
    }

    /// The associations referencing any of `ids`: (association id, the referenced id, class, path).
    func associations(referencing ids: [Int64], on connection: Connection) throws -> [(id: Int64, target: Int64, className: String, path: String)] {
        guard !arms.isEmpty, !ids.isEmpty else { return [] }
        // The ids are bound once, in a CTE every arm reads (an initplan: each arm still probes
        // its reference column's index).
        let statement: SQL = """
            WITH gone AS (SELECT \(ids) AS ids)
            SELECT a.id, a.target, i.class_name, i.path
            FROM (\(arms.joined(separator: "\nUNION ALL\n"))) AS a JOIN cimdb.instance i ON i.id = a.id
            ORDER BY a.id
            """
        return try connection.execute(statement).compactMap { row in
            guard let id = row.int64(0), let target = row.int64(1), let cls = row.string(2), let path = row.string(3) else { return nil }
            return (id, target, cls, path)
        }
    }
}
