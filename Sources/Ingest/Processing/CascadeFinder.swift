
/// Finds the associations that reference given instances — the ones PostgreSQL's
/// `ON DELETE CASCADE` removes with them — so that their deletion is reported as events too.
///
/// One `UNION ALL` over every concrete association table of the model (`ONLY`, each reference
/// column indexed), built once per model.
import CIM
import ORM
import SQLCore
import Store
import ModelStore
import Inventory
struct CascadeFinder: Sendable {
    let statement: String?

    init(catalog: ModelCatalog) {
        let arms = catalog.classes.filter { $0.isAssociation && !$0.isAbstract }.compactMap { cls -> String? in
            let references = cls.properties.filter(\.isReference)
            guard !references.isEmpty else { return nil }
            let id = SQLNames.quoted(SQLNames.instanceIDColumn)
            return references.map { reference in
                "SELECT t.\(id) AS id, t.\(SQLNames.quoted(reference.column)) AS target FROM ONLY \(cls.qualifiedTable) t WHERE t.\(SQLNames.quoted(reference.column)) = ANY($1::bigint[])"
            }.joined(separator: "\nUNION ALL\n")
        }
        statement = arms.isEmpty ? nil : """
            SELECT a.id, a.target, i.class_name, i.path
            FROM (\(arms.joined(separator: "\nUNION ALL\n"))) AS a JOIN cimdb.instance i ON i.id = a.id
            ORDER BY a.id
            """
    }

    /// The associations referencing any of `ids`: (association id, the referenced id, class, path).
    func associations(referencing ids: [Int64], on connection: Connection) throws -> [(id: Int64, target: Int64, className: String, path: String)] {
        guard let statement, !ids.isEmpty else { return [] }
        return try connection.execute(statement, [SQLValue(array: ids.map { String($0) })]).compactMap { row in
            guard let id = row.int64(0), let target = row.int64(1), let cls = row.string(2), let path = row.string(3) else { return nil }
            return (id, target, cls, path)
        }
    }
}
