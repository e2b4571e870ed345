import SQLCore

/// One step of the schema's history: SQL run once, in its own transaction, recorded by version.
///
/// Loaded from files named `NNNN_verb_object.sql` (`0001_create_inventory.sql` is version 1,
/// named `create_inventory`). A migration must not contain its own `BEGIN`/`COMMIT`, nor
/// statements that cannot run in a transaction (`CREATE INDEX CONCURRENTLY`).
public struct Migration: Sendable, Hashable {
    /// The version: the file's number.
    public var version: Int
    /// The name: the file's name after the number, without `.sql`.
    public var name: String
    /// The SQL, run with ``Connection/executeScript(_:)``.
    public var sql: String

    /// A migration from its parts.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The file name the migration comes from: `0001_create_inventory.sql`.
    public var fileName: String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "_" + name + ".sql"
    }
}
