import ArgumentParser
import CommandSupport
import Foundation
import Server
import SQLCore
import Store

/// `cimdb node`: enroll nodes and see what the servers hear from them.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Enroll nodes and list them.",
        subcommands: [Enroll.self, List.self]
    )

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an enrollment token for a node's agent (single use, expiring).",
            discussion: """
                Prints the token once; only its SHA-256 is stored. The token ends in the site key's \
                fingerprint: the agent accepts only answers signed with that key. Hand it to the \
                node out of band and start the node's agent with it in its environment or in a \
                file (never as an argument: the process list is readable by every local user):
                  CIMDB_TOKEN=TOKEN cimdb agent --server http://SERVER:7480 --node NAME
                  cimdb agent --server http://SERVER:7480 --node NAME --token-file FILE
                The agent exchanges it for its own key pair; enrolling a node again (a new token)
                replaces its key, e.g. after its state directory was lost.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The node's name (no whitespace; its agent's --node, by default its host name).")
        var name: String

        @Option(help: ArgumentHelp("How long the token is valid, in hours.", valueName: "hours"))
        var expires: Double = 24

        func validate() throws {
            if name.isEmpty || name.contains(where: \.isWhitespace) { throw ValidationError("a node name has no whitespace") }
            if expires <= 0 { throw ValidationError("--expires must be positive") }
        }

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                let token = try Enrollment.createToken(for: name, validFor: .seconds(expires * 3600), on: connection)
                print(token)
                Output.error(
                    "enrollment token for node \(name), valid \(expires) h, single use: start its agent with CIMDB_TOKEN=\(token) or --token-file FILE"
                )
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List nodes: enrolled, last heard of, results waiting in their journals.")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                let rows = try connection.execute(
                    """
                    SELECT n.name, c.node IS NOT NULL AS enrolled, to_char(n.last_seen_at, 'YYYY-MM-DD HH24:MI:SS') AS last_seen,
                           n.last_server, n.journaled, to_char(n.last_discovery_at, 'YYYY-MM-DD HH24:MI:SS') AS last_discovery
                    FROM cimdb.node n LEFT JOIN cimdb.node_credential c ON c.node = n.name ORDER BY n.name
                    """)
                let table = rows.map { row -> [String?] in
                    [
                        row["name"], row.bool("enrolled") == true ? "yes" : "no", row["last_seen"], row["last_server"],
                        row["journaled"], row["last_discovery"],
                    ]
                }
                print(
                    QueryCommand.table(columns: ["node", "enrolled", "last seen", "server", "journaled", "last discovery"], rows: table),
                    terminator: "")
            }
        }
    }
}
