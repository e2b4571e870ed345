import CIM
public import ORM
import SQLCore
public import Store

extension ModelObject {
    /// Inserts the instance: registers it in `cimdb.instance` under its canonical path and
    /// writes its row. Returns its id.
    @discardableResult
    public func insert(on connection: Connection) throws -> Int64 {
        let path = self.path { id in
            (try? connection.execute("SELECT path FROM cimdb.instance WHERE id = \(id)"))?.first?["path"]
        }.description
        return try connection.transaction { connection in
            guard
                let id = try connection.execute(
                    "INSERT INTO cimdb.instance (class_name, path) VALUES (\(Self.className), \(path)) RETURNING id"
                ).first?.int64("id")
            else {
                throw InstanceError(.registry, "the registry returned no id for \(path)")
            }
            let row = self.row
            let columns = [SQLNames.instanceID] + row.map { SQLIdentifier($0.column) }
            try connection.execute("INSERT INTO \(Self.sqlTable) (\(SQL.list(columns))) VALUES (\(SQL.list([SQLValue(id)] + row.map(\.value))))")
            return id
        }
    }

    /// All instances of this class (not its subclasses).
    public static func fetchAll(on connection: Connection) throws -> [Self] {
        try connection.execute("SELECT * FROM ONLY \(sqlTable) ORDER BY \(SQLNames.instanceID)").map { row throws(ValueError) in
            try Self(row: row)
        }
    }
}
