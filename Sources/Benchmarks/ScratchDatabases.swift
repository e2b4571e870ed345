import CommandSupport
import Foundation
import Ingest
import Installation
import Inventory
import Migrations
import Store
import SQLCore

/// The benchmarks' scratch databases, in the embedded cluster ($CIMDB_HOME; started when
/// needed): named after the process, dropped by `close()` unless kept.
final class ScratchDatabases {
    let cluster: EmbeddedCluster
    /// A connection to the `postgres` database, for creating and dropping.
    let admin: Connection
    private(set) var names: [String] = []

    private init(cluster: EmbeddedCluster, admin: Connection) {
        self.cluster = cluster
        self.admin = admin
    }

    static func open() async throws -> ScratchDatabases {
        let cluster = EmbeddedCluster(home: CimdbHome.path)
        if try await !cluster.status().running { _ = try await cluster.start() }
        return ScratchDatabases(cluster: cluster, admin: try Connection(cluster.connectionString(database: "postgres")))
    }

    /// A new, empty database `cimdb_bench_<pid>_<suffix>`; returns its connection string.
    func create(_ suffix: String) throws -> String {
        let name = "cimdb_bench_\(getpid())_\(suffix)"
        try admin.execute("DROP DATABASE IF EXISTS \(identifier: name) WITH (FORCE)")
        try admin.execute("CREATE DATABASE \(identifier: name)")
        names.append(name)
        return cluster.connectionString(database: name)
    }

    /// A new database as `create` makes it, with cimdb's schema, the report views and
    /// `configuration` installed; returns its connection string.
    func createInstalled(_ suffix: String, configuration: InventoryConfiguration) throws -> String {
        let conninfo = try create(suffix)
        let connection = try Connection(conninfo)
        defer { connection.close() }
        try Schema.install(on: connection)
        try ConfigurationStore.apply(configuration, on: connection)
        try Reports.refreshAggregates(on: connection)
        return conninfo
    }

    /// Drops the databases (or, with `keep`, says where they are) and closes the connection.
    func close(keep: Bool = false) {
        if keep {
            print("  kept: \(names.joined(separator: ", "))")
        } else {
            for name in names { _ = try? admin.execute("DROP DATABASE IF EXISTS \(identifier: name) WITH (FORCE)") }
        }
        admin.close()
    }
}
