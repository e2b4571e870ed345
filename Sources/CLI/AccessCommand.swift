import ArgumentParser
import CommandSupport
import Foundation
import Installation
import Inventory
import SQLCore
import Store
import Tasks

/// `cimdb access`: the task facility's users, roles, tools, groups, authorizations and limits.
struct AccessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access",
        abstract: "Apply and show who may run which tools where (the task facility).",
        discussion: """
            The access configuration is one YAML file, applied like the inventory configuration: \
            `apply` prints the difference and changes exactly that, in one transaction; applying \
            the same file again changes nothing. Only a trusted user (the database's owner, or \
            one added with --trusted) may apply; every change is logged in cimdb.access_log with \
            who made it and the old and new values.

              users:          [{name: alice, trusted: false}]          # PostgreSQL roles (made when missing)
              roles:          [{name: backup, tools: [df, collect]}]
              tools:
                - name: df                                             # runs on every target
                  command: [df, -h, "{path}"]                          # argv; {path} is a parameter
                  parameters: [{name: path, required: true}]
                  files: [{source: /etc/hosts, destination: hosts}]    # read by the database server
                  timeout: 60s                                         # default 10m
                  output_cap: 1MiB                                     # per stream, head and tail kept
                - name: roster                                         # runs once, on head01
                  node: head01
                  shell: 'echo "$CIMDB_TARGETS" | wc -l'               # parameters as CIMDB_ARG_*
              groups:
                - {name: rack1, nodes: ["n[01-32]"]}                   # static; nodes enrolled later join
                - {name: bigmem, where: "memory_bytes >= 512 * 2^30"}  # over report.node_summary, at submit
              authorizations: [{user: alice, role: backup, group: rack1}, {user: alice, role: backup, node: n40}]
              limits: {tasks: 10, targets: 16, output_retention: 90d}

            Examples:
              cimdb access apply access.yaml --dry-run
              cimdb access apply access.yaml
              cimdb access show
            """,
        subcommands: [Apply.self, Show.self]
    )

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make the database's access configuration the file's (prints the difference).")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The access file (YAML).")
        var file: String

        @Flag(help: "Print the difference, change nothing.")
        var dryRun = false

        func run() async throws {
            try await reportingErrors {
                let wanted: [AccessObject]
                do {
                    wanted = try AccessFile.load(file)
                } catch {
                    throw CommandFailure("\(error)")
                }
                let connection = try await database.connect()
                defer { connection.close() }
                let current = try AccessStore.current(on: connection)
                let difference = AccessDifference(from: current, to: wanted)
                for change in difference.changes { print(change) }
                if difference.isEmpty {
                    print("no changes: the database has this access configuration")
                    return
                }
                if dryRun {
                    Output.error("\(difference.changes.count) change(s); --dry-run: nothing changed")
                    return
                }
                let users = try AccessStore.apply(difference, on: connection)
                for user in users { try Reports.grantReader(user, on: connection) }
                Output.error("\(difference.changes.count) change(s) applied")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the access configuration as it is in the database (YAML).")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                let json = try connection.execute("SELECT cimdb.access_configuration()::text AS c").first?["c"] ?? "{}"
                print(try AccessFile.yaml(fromDatabase: json), terminator: "")
            }
        }
    }
}

/// The access configuration in the database, through the functions that check the rules.
enum AccessStore {
    static func current(on c: Connection) throws -> [AccessObject] {
        let json = try c.execute("SELECT cimdb.access_configuration()::text AS c").first?["c"] ?? "{}"
        return try AccessFile.objects(fromDatabase: json)
    }

    /// Applies the difference in one transaction; the users put (to be given read access).
    static func apply(_ difference: AccessDifference, on c: Connection) throws -> [String] {
        var users: [String] = []
        try c.transaction { c in
            for change in difference.changes {
                switch change {
                case .delete(let o):
                    try c.execute("SELECT cimdb.delete_access(\(o.kind.rawValue), \(o.name), \(o.definition)::jsonb)")
                case .add(let o), .change(_, let o):
                    if o.kind == .user {
                        let trusted = o.definition.contains("\"trusted\":true")
                        try c.execute("SELECT cimdb.put_user(\(o.name), \(trusted))")
                        users.append(o.name)
                    } else {
                        try c.execute("SELECT cimdb.put_access(\(o.kind.rawValue), \(o.name), \(o.definition)::jsonb)")
                    }
                }
            }
        }
        return users
    }
}

/// `cimdb user`: the cimdb users (PostgreSQL roles).
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Add and list cimdb users (each is a PostgreSQL role).",
        discussion: """
            A cimdb user is the PostgreSQL role of the session: what the database checks when a \
            task is submitted, cancelled or killed, or the access configuration changed. `add` \
            makes the role (LOGIN, no password) when it does not exist, lets it use the task \
            functions and read the reports. Map operating-system users to roles with the \
            cluster's pg_hba.conf: `local all all peer` lets the OS user alice connect as role \
            alice without a password; over the network use scram-sha-256 with a password \
            (ALTER ROLE alice PASSWORD '…'). On the embedded cluster:
              cimdb user add alice
              cimdb task run df --nodes 'n[01-04]' --database-url "postgresql://alice@/cimdb?host=$CIMDB_HOME/postgres"
            """,
        subcommands: [Add.self, List.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user (a PostgreSQL role, made when missing).")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The role name (lower-case letters, digits, _ . -).")
        var name: String

        @Flag(help: "May change the access configuration and run any tool anywhere.")
        var trusted = false

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                try connection.execute("SELECT cimdb.put_user(\(name), \(trusted))")
                try Reports.grantReader(name, on: connection)
                print("user \(name)\(trusted ? " (trusted)" : "") can submit tasks and read the reports")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users.")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                let json = try connection.execute("SELECT cimdb.access_configuration() -> 'users' AS u").first?["u"] ?? "[]"
                let users = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]) ?? []
                for user in users {
                    print("\(user["name"] as? String ?? "")\((user["trusted"] as? Bool) == true ? " (trusted)" : "")")
                }
            }
        }
    }
}

/// `cimdb group`: node groups, one name per line (a ClusterShell group source).
struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group",
        abstract: "List node groups and their nodes, one per line (usable as a ClusterShell group source).",
        discussion: """
            For clush and nodeset, put in /etc/clustershell/groups.d/cimdb.conf (or groups.conf):
              [cimdb]
              map: cimdb group nodes $GROUP
              list: cimdb group list
            then `clush -w @cimdb:rack1 uptime` or `nodeset -f @cimdb:bigmem`.
            """,
        subcommands: [List.self, Nodes.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The groups' names, one per line.")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect(quiet: true)
                defer { connection.close() }
                for row in try connection.execute("SELECT name FROM cimdb.node_group ORDER BY name") { print(row["name"] ?? "") }
            }
        }
    }

    struct Nodes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A group's nodes now (dynamic groups evaluated), one per line.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The group.")
        var group: String

        @Flag(help: "Print them folded, as one node set (n[01-32]).")
        var fold = false

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect(quiet: true)
                defer { connection.close() }
                let rows: QueryResult
                do {
                    rows = try connection.execute("SELECT DISTINCT m AS node FROM cimdb.group_members(\(group)) m")
                } catch let error as PostgresError {
                    throw CommandFailure(error.message)
                }
                let set = NodeSet(rows.compactMap { $0["node"] })
                if fold { print(set) } else { for name in set.names { print(name) } }
            }
        }
    }
}
