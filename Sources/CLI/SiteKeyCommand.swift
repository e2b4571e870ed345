import AgentProtocol
import ArgumentParser
import CommandSupport
import Server
import Store

/// `cimdb site-key`: the key every server signs its answers to agents with.
struct SiteKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "site-key",
        abstract: "Show and rotate the site key servers sign their answers to agents with.",
        discussion: """
            Every server of a site signs what it answers agents with one Ed25519 key, kept in \
            cimdb.site_key (readable by the servers' role only). Agents pin it when they enroll: \
            an enrollment token ends in the key's fingerprint. The first server or the first \
            `cimdb node enroll` makes the key.

            Rotating: `rotate` announces a new key — servers keep signing with the current one \
            and name the new one in every answer, which agents then trust too. Once every agent \
            has been heard from (`cimdb node list`, last seen after the rotation), `finish` makes \
            the new key current; agents drop the old key at the first answer signed with the new \
            one. An agent that heard nothing during the announcement must be enrolled again.

            Examples:
              cimdb site-key show
              cimdb site-key rotate
              cimdb site-key finish
            """,
        subcommands: [Show.self, Rotate.self, Finish.self],
        defaultSubcommand: Show.self
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the site keys (fingerprint, state, dates); makes the first one.")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                _ = try SiteKeyStore.signing(on: connection)
                let rows = try SiteKeyStore.list(on: connection).map { key -> [String?] in
                    [key.fingerprint, key.state, key.createdAt, key.activatedAt, key.retiredAt]
                }
                print(QueryCommand.table(columns: ["fingerprint", "state", "created", "activated", "retired"], rows: rows), terminator: "")
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Announce a new site key (servers sign with the current one until `finish`).")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                let next = try SiteKeyStore.rotate(on: connection)
                print("announced site key \(next.fingerprint); servers name it in their answers within 10 s")
                Output.error("when every agent has been heard from since (cimdb node list), run: cimdb site-key finish")
            }
        }
    }

    struct Finish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make the announced site key current.")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                let current = try SiteKeyStore.finish(on: connection)
                print("site key \(current.fingerprint) is current; servers sign with it within 10 s, new enrollment tokens name it")
            }
        }
    }
}
