
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
            (try? connection.execute("SELECT path FROM cimdb.instance WHERE id = $1", [SQLValue(id)]))?.first?["path"]
        }.description
        return try connection.transaction { connection in
            guard let id = try connection.execute(
                "INSERT INTO cimdb.instance (class_name, path) VALUES ($1, $2) RETURNING id", [SQLValue(Self.className), SQLValue(path)]
            ).first?.int64("id") else {
                throw InstanceError("the registry returned no id for \(path)")
            }
            let row = self.row
            let columns = [SQLNames.instanceIDColumn] + row.map(\.column)
            let placeholders = (1...columns.count).map { "$\($0)" }.joined(separator: ", ")
            try connection.execute(
                "INSERT INTO \(Self.qualifiedTable) (\(columns.map(SQLNames.quoted).joined(separator: ", "))) VALUES (\(placeholders))",
                [SQLValue(id)] + row.map(\.value))
            return id
        }
    }

    /// All instances of this class (not its subclasses).
    public static func fetchAll(on connection: Connection) throws -> [Self] {
        try connection.execute("SELECT * FROM ONLY \(qualifiedTable) ORDER BY \(SQLNames.instanceIDColumn)").map { row throws(ValueError) in
            try Self(row: row)
        }
    }
}
