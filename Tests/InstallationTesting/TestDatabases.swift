import Ingest
import Installation
import Inventory
public import Store
import StoreTesting

/// Test databases with cimdb installed, each copied from a template made once per test process.
public enum TestDatabases {
    /// cimdb's schema, the default model and the report views (what `cimdb migrate` installs);
    /// with `configured`, the default inventory configuration too.
    public static func installed(configured: Bool = false) async throws -> String {
        try await TestPostgres.createDatabase(fromTemplate: configured ? "cimdb_configured" : "cimdb_installed") { connection in
            try Schema.install(on: connection)
            if configured { try ConfigurationStore.apply(try DefaultConfiguration.load(), on: connection) }
        }
    }

    /// A pool of `size` connections to a database as ``installed(configured:)`` makes it.
    public static func pool(configured: Bool = false, size: Int = 2) async throws -> ConnectionPool {
        ConnectionPool(conninfo: try await installed(configured: configured), size: size)
    }
}
