import ArgumentParser
import CommandSupport
import Foundation
import SQLCore
import Store

/// Which database a command works on, for every command that needs one:
/// `--database-url`, else `$DATABASE_URL`, else the standard `PG*` environment variables
/// (libpq's defaults), else the embedded cluster in `$CIMDB_HOME`, started when needed.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: ArgumentHelp(
            "A libpq connection string or URI. Default: $DATABASE_URL, else the PG* environment variables, else the embedded cluster in $CIMDB_HOME (started when needed).",
            valueName: "url"))
    var databaseURL: String?

    static let libpqVariables = ["PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE", "PGSERVICEFILE"]

    enum Source: Equatable {
        case url(String), environment, embedded
    }

    var source: Source {
        let environment = ProcessInfo.processInfo.environment
        if let databaseURL, !databaseURL.isEmpty { return .url(databaseURL) }
        if let url = environment["DATABASE_URL"], !url.isEmpty { return .url(url) }
        if Self.libpqVariables.contains(where: { environment[$0] != nil }) { return .environment }
        return .embedded
    }

    var cluster: EmbeddedCluster { EmbeddedCluster(home: CimdbHome.path) }

    /// The connection string to use, starting the embedded cluster first if it is the one.
    func conninfo(quiet: Bool = false) async throws -> String {
        switch source {
        case .url(let url): return url
        case .environment: return ""
        case .embedded:
            let cluster = self.cluster
            let status = try await cluster.status()
            if !status.running {
                if !quiet { Output.error("Starting the embedded PostgreSQL in \(cluster.postgresDirectory) …") }
                _ = try await cluster.start()
            }
            return cluster.connectionString()
        }
    }

    /// A connection to the chosen database.
    func connect(quiet: Bool = false) async throws -> Connection {
        let info = try await conninfo(quiet: quiet)
        do {
            return try Connection(info)
        } catch {
            throw CommandFailure("cannot connect to the database: \(error.message)")
        }
    }
}
