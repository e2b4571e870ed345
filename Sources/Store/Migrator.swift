import SQLCore

/// Applies ordered SQL ``Migration``s to a database, each in its own transaction, and records
/// each with the SHA-256 of its SQL in a table (`cimdb.schema_migrations` by default).
///
/// Applying is idempotent: applied versions are skipped. It refuses to run, applying nothing,
/// when an applied migration's SQL changed since (landed migrations are never edited: write a
/// new one). Concurrent migrators on the same database serialize on a transaction-level
/// advisory lock, so each migration is applied exactly once.
public struct Migrator: Sendable {
    /// The table that records applied migrations, optionally schema-qualified.
    public var table: String

    /// A migrator recording into `table` (`schema.table` or `table`); the schema is created when missing.
    public init(table: String = "cimdb.schema_migrations") {
        self.table = table
    }

    /// Applies the migrations not applied yet, in version order, and returns them.
    ///
    /// Throws a ``MigrationError`` for an invalid list (see ``validate(_:)``), a changed applied
    /// migration (naming the file and both checksums), an applied version the list does not
    /// know, or a migration whose SQL fails (with the file, line and column, and the server's
    /// error; that migration and later ones are not applied). Throws ``PostgresError`` when the
    /// database fails otherwise.
    @discardableResult
    public func apply(_ migrations: [Migration], on connection: Connection) throws -> [Migration] {
        let ordered = try Self.validate(migrations)
        let pending = try connection.transaction { connection in
            try lock(connection)
            try createTable(connection)
            let applied = try appliedRecords(connection)
            try verify(applied, against: ordered, on: connection)
            let appliedVersions = Set(applied.map(\.version))
            return ordered.filter { !appliedVersions.contains($0.version) }
        }
        var newlyApplied: [Migration] = []
        for migration in pending {
            let didApply = try connection.transaction { connection in
                try lock(connection)
                // Another migrator may have applied it while this one waited for the lock.
                let current = try appliedRecords(connection)
                if current.contains(where: { $0.version == migration.version }) {
                    try verify(current, against: ordered, on: connection)
                    return false
                }
                try run(migration, on: connection)
                return true
            }
            if didApply { newlyApplied.append(migration) }
        }
        return newlyApplied
    }

    /// The applied migrations, by version; empty when the table does not exist yet.
    public func applied(on connection: Connection) throws -> [(version: Int, name: String, checksum: String, appliedAt: String)] {
        try appliedRecords(connection).map { ($0.version, $0.name, $0.checksum, $0.appliedAt) }
    }

    /// A row of the migrations table.
    struct Record {
        var version: Int
        var name: String
        var checksum: String
        var appliedAt: String
    }

    /// The checksum of the SQL text `expression` (a parameter or column name): SHA-256 in hex,
    /// computed by the server, so no crypto dependency here.
    static func checksum(of expression: SQL) -> SQL {
        "encode(sha256(convert_to(\(expression), 'UTF8')), 'hex')"
    }

    private func run(_ migration: Migration, on connection: Connection) throws {
        do {
            try connection.executeScript(.verbatim(migration.sql))
        } catch {
            let (line, column) = error.position.map { Self.lineAndColumn(of: $0, in: migration.sql) } ?? (nil, nil)
            throw MigrationError(
                kind: .failed, file: migration.fileName, version: migration.version, line: line, column: column,
                message: "migration \(migration.fileName) failed", underlying: error)
        }
        let sql: SQL = "\(migration.sql)"
        try connection.execute(
            "INSERT INTO \(identifier) (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(Self.checksum(of: sql)))")
    }

    /// Waits for other migrators of this table until the transaction ends.
    private func lock(_ connection: Connection) throws {
        try connection.execute("SELECT pg_advisory_xact_lock(1667853668, hashtext(\(table)))")
    }

    private func createTable(_ connection: Connection) throws {
        if let schema = identifier.schema {
            try connection.execute("CREATE SCHEMA IF NOT EXISTS \(identifier: schema)")
        }
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS \(identifier) (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
    }

    func appliedRecords(_ connection: Connection) throws -> [Record] {
        let exists = try connection.execute("SELECT to_regclass(\(identifier.quoted)) IS NOT NULL AS present")
        guard exists.first?.bool("present") == true else { return [] }
        let rows = try connection.execute(
            "SELECT version, name, checksum, applied_at::text AS applied_at FROM \(identifier) ORDER BY version")
        return rows.map { row in
            Record(
                version: row.int("version") ?? 0, name: row.string("name") ?? "",
                checksum: row.string("checksum") ?? "", appliedAt: row.string("applied_at") ?? "")
        }
    }

    /// The table, schema-qualified when its name has a dot.
    var identifier: SQLIdentifier {
        guard let dot = table.firstIndex(of: ".") else { return SQLIdentifier(table) }
        return SQLIdentifier(String(table[table.index(after: dot)...]), schema: String(table[..<dot]))
    }

    /// 1-based line and column of the 1-based character `position` (PostgreSQL counts characters).
    static func lineAndColumn(of position: Int, in text: String) -> (Int, Int) {
        var line = 1
        var column = 1
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            if offset + 1 >= position { break }
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }
}
