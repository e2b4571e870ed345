@testable import Store
import StoreTesting
import Testing

#if canImport(Glibc)
    import Glibc
    import SQLCore
#endif

@Suite("Migrations")
struct MigrationTests {
    static let migrations = [
        Migration(version: 1, name: "create_nodes", sql: "CREATE TABLE nodes (id int PRIMARY KEY, name text NOT NULL);"),
        Migration(version: 2, name: "add_node_index", sql: "CREATE INDEX nodes_name ON nodes (name);\n"),
        Migration(version: 3, name: "create_ports", sql: "CREATE TABLE ports (node int REFERENCES nodes, n int);"),
    ]

    @Test("applying twice applies once; the record has server-computed SHA-256 checksums")
    func idempotent() async throws {
        let conninfo = try await TestPostgres.createDatabase()
        let (first, second, applied, expectedSum) = try await withConnection(to: conninfo) { connection in
            let first = try Migrator().apply(Self.migrations, on: connection)
            let second = try Migrator().apply(Self.migrations, on: connection)
            let applied = try Migrator().applied(on: connection)
            let sum = try connection.execute("SELECT encode(sha256(convert_to(\(Self.migrations[0].sql), 'UTF8')), 'hex') AS s")
            return (first, second, applied.map { "\($0.version) \($0.name) \($0.checksum)" }, sum[0].string("s") ?? "")
        }
        #expect(first.map(\.version) == [1, 2, 3])
        #expect(second.isEmpty)
        #expect(applied.count == 3)
        #expect(applied.first == "1 create_nodes \(expectedSum)")
        #expect(expectedSum.count == 64)
    }

    @Test("a changed applied migration is refused with both checksums, and nothing is applied")
    func changedFileRefused() async throws {
        let conninfo = try await TestPostgres.createDatabase()
        var changed = Self.migrations
        changed[1].sql += "-- edited after landing\n"
        let changedList = changed
        let (error, portsExist) = try await withConnection(to: conninfo) { connection in
            try Migrator().apply(Array(Self.migrations.prefix(2)), on: connection)
            let error = #expect(throws: MigrationError.self) { try Migrator().apply(changedList, on: connection) }
            let ports = try connection.execute("SELECT to_regclass('ports') IS NOT NULL AS present")[0].bool("present")
            return (error, ports)
        }
        let failure = try #require(error)
        #expect(failure.kind == .checksumMismatch)
        #expect(failure.version == 2)
        #expect(failure.file == "0002_add_node_index.sql")
        #expect(failure.description.hasPrefix("0002_add_node_index.sql: error: migration 0002_add_node_index.sql was changed"))
        #expect(failure.message.contains("applied checksum ") && failure.message.contains("file checksum "))
        #expect(portsExist == false)
    }

    @Test("gaps, duplicates and bad names are rejected")
    func invalidLists() throws {
        let gap = #expect(throws: MigrationError.self) { try Migrator.validate([Self.migrations[0], Self.migrations[2]]) }
        #expect(gap?.kind == .gap)
        #expect(gap?.file == "0003_create_ports.sql")
        let duplicate = #expect(throws: MigrationError.self) {
            try Migrator.validate(Self.migrations + [Migration(version: 2, name: "add_other_index", sql: "")])
        }
        #expect(duplicate?.kind == .duplicateVersion)
        #expect(duplicate?.message.contains("0002_add_node_index.sql") == true)
        let late = #expect(throws: MigrationError.self) { try Migrator.validate([Self.migrations[1]]) }
        #expect(late?.kind == .gap)
        let badName = #expect(throws: MigrationError.self) { try Migrator.validate([Migration(version: 1, name: "Init", sql: "")]) }
        #expect(badName?.kind == .badFile)
        #expect(try Migrator.validate(Self.migrations.reversed()).map(\.version) == [1, 2, 3])
    }

    @Test("loading a directory reads NNNN_verb_object.sql files in order and rejects gaps and bad names")
    func loadDirectory() throws {
        let directory = try makeTemporaryDirectory("migrations")
        defer { TemporaryFiles.remove(directory) }
        try TemporaryFiles.write("CREATE TABLE a (id int);\n", to: directory + "/0001_create_a.sql")
        try TemporaryFiles.write("CREATE TABLE b (id int);\n", to: directory + "/0002_create_b.sql")
        try TemporaryFiles.write("not a migration\n", to: directory + "/README.md")
        let loaded = try Migrator.load(directory: directory)
        #expect(loaded.map(\.fileName) == ["0001_create_a.sql", "0002_create_b.sql"])
        #expect(loaded[0].sql == "CREATE TABLE a (id int);\n")

        try TemporaryFiles.write("", to: directory + "/0004_create_d.sql")
        let gap = #expect(throws: MigrationError.self) { try Migrator.load(directory: directory) }
        #expect(gap?.kind == .gap)
        TemporaryFiles.remove(directory + "/0004_create_d.sql")

        try TemporaryFiles.write("", to: directory + "/0003 Create C.sql")
        let bad = #expect(throws: MigrationError.self) { try Migrator.load(directory: directory) }
        #expect(bad?.kind == .badFile)
        #expect(bad?.file?.hasSuffix("0003 Create C.sql") == true)

        let missing = #expect(throws: MigrationError.self) { try Migrator.load(directory: directory + "/nope") }
        #expect(missing?.kind == .badFile)
    }

    @Test("a failing migration names file, line and column; it and later ones are not applied")
    func failingMigration() async throws {
        let conninfo = try await TestPostgres.createDatabase()
        let broken = [
            Self.migrations[0],
            Migration(version: 2, name: "create_broken", sql: "CREATE TABLE half (id int);\n\nCREATE TABLE x (id nonsense_type);\n"),
            Migration(version: 3, name: "create_after", sql: "CREATE TABLE after (id int);"),
        ]
        let (error, applied, halfExists) = try await withConnection(to: conninfo) { connection in
            let error = #expect(throws: MigrationError.self) { try Migrator().apply(broken, on: connection) }
            let applied = try Migrator().applied(on: connection).map(\.version)
            let half = try connection.execute("SELECT to_regclass('half') IS NOT NULL AS present")[0].bool("present")
            return (error, applied, half)
        }
        let failure = try #require(error)
        #expect(failure.kind == .failed)
        #expect(failure.file == "0002_create_broken.sql")
        #expect(failure.line == 3)
        #expect(failure.column == 20)
        #expect(failure.underlying?.sqlState == "42704")
        #expect(failure.description.hasPrefix("0002_create_broken.sql:3:20: error: "))
        #expect(applied == [1])
        #expect(halfExists == false)
    }

    @Test("a database migrated by a newer program is refused")
    func unknownApplied() async throws {
        let conninfo = try await TestPostgres.createDatabase()
        let error = try await withConnection(to: conninfo) { connection in
            try Migrator().apply(Self.migrations, on: connection)
            return #expect(throws: MigrationError.self) { try Migrator().apply(Array(Self.migrations.prefix(1)), on: connection) }
        }
        #expect(error?.kind == .unknownApplied)
        #expect(error?.file == "0002_add_node_index.sql")
    }

    @Test("concurrent migrators serialize: every migration is applied exactly once")
    func concurrentMigrators() async throws {
        let conninfo = try await TestPostgres.createDatabase()
        let slow = [
            Migration(version: 1, name: "create_counter", sql: "SELECT pg_sleep(0.2); CREATE TABLE counter (n int);"),
            Migration(version: 2, name: "insert_counter", sql: "INSERT INTO counter VALUES (1);"),
            Migration(version: 3, name: "update_counter", sql: "UPDATE counter SET n = n + 1;"),
        ]
        let table = SQLIdentifier("Migrations Log", schema: "custom_schema")
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await withConnection(to: conninfo) { connection in
                        try Migrator(table: "custom_schema.Migrations Log").apply(slow, on: connection).map(\.version)
                    }
                }
            }
            var all: [Int] = []
            for try await versions in group { all += versions }
            return all
        }
        #expect(applied.sorted() == [1, 2, 3])
        let (n, recorded) = try await withConnection(to: conninfo) { connection in
            (
                try connection.execute("SELECT n FROM counter")[0].int("n"),
                try connection.execute("SELECT count(*) AS c FROM \(table)")[0].int("c")
            )
        }
        #expect(n == 2)
        #expect(recorded == 3)
    }

    @Test("line and column of a character position")
    func positions() {
        #expect(Migrator.lineAndColumn(of: 1, in: "abc") == (1, 1))
        #expect(Migrator.lineAndColumn(of: 5, in: "ab\ncd") == (2, 2))
        #expect(Migrator.lineAndColumn(of: 3, in: "é\nx") == (2, 1))
    }
}

/// Small file helpers for tests.
enum TemporaryFiles {
    static func write(_ text: String, to path: String) throws {
        try FileSystem.write(text, to: path, mode: 0o644)
    }

    static func remove(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            for name in FileSystem.directoryEntries(path) { remove(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
