import ArgumentParser
import CommandSupport
import Foundation
import Migrations
import Store

#if canImport(Glibc)
    import Glibc
    import Installation
#endif

/// `cimdb db …`: the embedded PostgreSQL cluster.
struct DBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Run the embedded PostgreSQL cluster, or connect psql to the database.",
        discussion: """
            With no database configured (no --database-url, $DATABASE_URL or PG* variables), \
            cimdb keeps its own PostgreSQL cluster in $CIMDB_HOME/postgres ($CIMDB_HOME defaults \
            to ~/.local/share/cimdb) on a unix socket in that directory. As root, PostgreSQL runs \
            as the unprivileged 'postgres' account, which owns the data directory.

            Examples:
              cimdb db start            initialize (first time) and start it
              cimdb db psql             psql on the database (embedded or configured)
              cimdb db url              the connection string, for psql or DATABASE_URL
            """,
        subcommands: [Start.self, Stop.self, Status.self, URL.self, PSQL.self, GrantReader.self]
    )

    struct GrantReader: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grant-reader",
            abstract: "Give a PostgreSQL role read access to the model and the report views, and nothing else.",
            discussion: """
                The role may then read every class table (schema cim), the instance registry, the \
                model catalog and the report views (schema report), and write nothing; the \
                configuration, its scripts, raw results and the rest of schema cimdb stay closed. \
                The grant survives `cimdb migrate` (which rebuilds the report views) and covers \
                class tables added later by a model migration. The role must exist.

                Example:
                  psql -c "CREATE ROLE reporting LOGIN PASSWORD 'secret'"
                  cimdb db grant-reader reporting
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The PostgreSQL role.") var role: String

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                do {
                    try Reports.grantReader(role, on: connection)
                } catch let error as Reports.ReaderError {
                    throw CommandFailure(error.message)
                }
                print("\(role) may read the model (schema cim) and the reports (schema report)")
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Initialize (the first time) and start the embedded cluster; harmless when it runs.")

        @Option(help: "Also listen on this loopback TCP port (127.0.0.1).")
        var port: Int?

        func run() async throws {
            try await reportingErrors {
                let cluster = EmbeddedCluster(home: CimdbHome.path)
                let before = try await cluster.status()
                let status = try await cluster.start(port: port)
                print(before.running ? "Already running." : "Started.")
                print(status.description)
                print("Connect: psql '\(cluster.connectionString())'")
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the embedded cluster; harmless when it is not running.")

        func run() async throws {
            try await reportingErrors {
                let cluster = EmbeddedCluster(home: CimdbHome.path)
                let running = try await cluster.status().running
                try await cluster.stop()
                print(running ? "Stopped." : "Not running.")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the embedded cluster: data directory, socket, account, whether it runs. Exits 3 when it is not running.")

        func run() async throws {
            try await reportingErrors {
                let cluster = EmbeddedCluster(home: CimdbHome.path)
                let status = try await cluster.status()
                print(status.description)
                if status.running { print("url: \(cluster.connectionString())") }
                if !status.running { throw ExitCode(3) }
            }
        }
    }

    struct URL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "url",
            abstract: "Print the connection string of the database (the configured one, else the embedded cluster).")

        @Flag(help: "The embedded cluster's TCP address with its password, instead of the unix socket (needs `db start --port`).")
        var tcp = false

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                switch database.source {
                case .url(let url): print(url)
                case .environment: print("(libpq defaults from the PG* environment variables)")
                case .embedded: print(database.cluster.connectionString(tcp: tcp))
                }
            }
        }
    }

    struct PSQL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "psql",
            abstract: "Run psql on the database (starting the embedded cluster if needed). Arguments after -- go to psql.")

        @OptionGroup var database: DatabaseOptions

        @Argument(parsing: .captureForPassthrough, help: "Arguments for psql, e.g. -- -c 'SELECT count(*) FROM CIM_LogicalDevice'.")
        var psqlArguments: [String] = []

        func run() async throws {
            try await reportingErrors {
                let conninfo = try await database.conninfo()
                let psql =
                    ["/usr/bin/psql", (try? PostgresBinaries.locate()).map { $0 + "/psql" } ?? ""]
                    .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "psql"
                let arguments = [psql] + (conninfo.isEmpty ? [] : [conninfo]) + psqlArguments.filter { $0 != "--" }
                fflush(nil)
                var cArguments = arguments.map { strdup($0) } + [nil]
                execvp(psql, &cArguments)
                throw CommandFailure("cannot run psql (\(String(cString: strerror(errno)))): install it with `apt-get install postgresql-client`")
            }
        }
    }
}
