import SQLCore
public import Store

/// A real PostgreSQL for tests: one embedded cluster per test process, created with the same
/// ``EmbeddedCluster`` code the product uses, in a fresh temporary directory, started once,
/// and stopped and removed when the process exits.
///
/// Tests get a database of their own with ``createDatabase(_:)``. When PostgreSQL cannot be
/// started these functions throw the reason: tests fail, they are never skipped.
public enum TestPostgres {
    /// The process's test cluster, started on first use.
    public static func shared() async throws -> EmbeddedCluster {
        try await TestClusterRegistry.instance.cluster()
    }

    /// A fresh, empty database in the test cluster (named `name`, or a unique `test_…` name);
    /// returns its connection string.
    public static func createDatabase(_ name: String? = nil) async throws -> String {
        let cluster = try await shared()
        let name = name ?? "test_" + TemporaryDirectory.randomSuffix(length: 12)
        let conninfo = cluster.connectionString(database: "postgres")
        let pool = ConnectionPool(conninfo: conninfo, size: 1)
        do {
            try await pool.withConnection { connection in
                try connection.execute("CREATE DATABASE \(identifier: name)")
            }
        } catch {
            await pool.close()
            throw TestPostgresError(message: "cannot create the test database \(name): \(String(reflecting: error))")
        }
        await pool.close()
        return cluster.connectionString(database: name)
    }

    /// A fresh database copied from the template `template` (`CREATE DATABASE … TEMPLATE`), which
    /// is made once per test process: an empty database that `prepare` fills (cimdb's schema,
    /// say), then closed so it can be copied. Copying a migrated template takes a few
    /// milliseconds where migrating takes a second or more.
    public static func createDatabase(
        fromTemplate template: String, prepare: @escaping @Sendable (Connection) throws -> Void
    ) async throws -> String {
        try await TemplateRegistry.instance.ensure(template, prepare: prepare)
        let cluster = try await shared()
        let name = "test_" + TemporaryDirectory.randomSuffix(length: 12)
        let pool = ConnectionPool(conninfo: cluster.connectionString(database: "postgres"), size: 1)
        do {
            try await pool.withConnection { connection in
                try connection.execute(
                    "CREATE DATABASE \(identifier: name) TEMPLATE \(identifier: template)")
                // A copy does not take the template's own settings (ALTER DATABASE … SET, such as
                // cimdb's search_path): the server writes the statements that give them back.
                let settings = try connection.execute(
                    """
                    SELECT format('ALTER DATABASE %I SET %I = %s', \(name)::text, split_part(c, '=', 1), substr(c, strpos(c, '=') + 1))
                    FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase, unnest(s.setconfig) AS c
                    WHERE d.datname = \(template) AND s.setrole = 0
                    """)
                for row in settings { if let statement = row.string(0) { try connection.execute(.verbatim(statement)) } }
            }
        } catch {
            await pool.close()
            throw TestPostgresError(message: "cannot create the test database \(name) from \(template): \(String(reflecting: error))")
        }
        await pool.close()
        return cluster.connectionString(database: name)
    }

    /// Server settings of the test cluster: durability off (a crash loses nothing that
    /// matters), room for many parallel tests.
    static let settings = [
        "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
        "max_connections": "300", "shared_buffers": "64MB",
    ]
}

/// Makes each template database once per process.
actor TemplateRegistry {
    static let instance = TemplateRegistry()

    private var made: [String: Task<Void, any Error>] = [:]

    func ensure(_ template: String, prepare: @escaping @Sendable (Connection) throws -> Void) async throws {
        if let task = made[template] { return try await task.value }
        let task = Task {
            let conninfo = try await TestPostgres.createDatabase(template)
            let pool = ConnectionPool(conninfo: conninfo, size: 1)
            do {
                try await pool.withConnection { try prepare($0) }
            } catch {
                await pool.close()
                throw TestPostgresError(message: "cannot prepare the template database \(template): \(String(reflecting: error))")
            }
            // A template cannot be copied while anyone is connected to it.
            await pool.close()
        }
        made[template] = task
        try await task.value
    }
}

/// Starts the test cluster once per process and remembers the outcome.
actor TestClusterRegistry {
    static let instance = TestClusterRegistry()

    private var starting: Task<EmbeddedCluster, any Error>?

    func cluster() async throws -> EmbeddedCluster {
        if let starting { return try await starting.value }
        let task = Task { try await Self.startCluster() }
        starting = task
        return try await task.value
    }

    private static func startCluster() async throws -> EmbeddedCluster {
        TemporaryDirectory.removeLeftovers()
        let home = try TemporaryDirectory.create()
        let cluster = EmbeddedCluster(home: home, settings: TestPostgres.settings)
        ShutdownHook.register(dataDirectory: cluster.dataDirectory, home: home)
        do {
            try await cluster.start()
        } catch {
            throw TestPostgresError(message: "cannot start the test PostgreSQL in \(home): \(String(reflecting: error))")
        }
        return cluster
    }
}

/// Why the test PostgreSQL is not available.
public struct TestPostgresError: Error, CustomStringConvertible, Sendable {
    /// The reason, with the underlying error.
    public var message: String
    /// The reason.
    public var description: String { message }
}
