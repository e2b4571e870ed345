import ArgumentParser
import CommandSupport
import Foundation
import Logging
import Server

/// `cimdb server`: the HTTP API agents talk to.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Serve agents: enrollment, assignments, scripts, results, heartbeats; /health and /metrics.",
        discussion: """
            A server is stateless: everything is in the database, so run several in front of one \
            database (each agent knows two, both active) and restart any of them at any time. \
            Results from many agents are applied together in batches by one writer per server; \
            when more are waiting than --queue-limit, agents are told to come back later and keep \
            their results journaled.

            Every agent request is signed with the node's key (Ed25519, given at enrollment, \
            timestamp and nonce) and every answer with the site key (cimdb site-key); refused \
            requests are logged and kept in cimdb.refused_request. Signed is not secret: where \
            the network is not trusted, give --tls-cert and --tls-key and start agents with \
            https:// URLs (and --ca when the certificate is not from a CA the nodes trust).

            Examples:
              cimdb server                                  # 127.0.0.1:7480, embedded database
              cimdb server --host 0.0.0.0 --port 7480 --database-url postgresql://cimdb@db/cimdb
              cimdb server --host 0.0.0.0 --tls-cert /etc/cimdb/server.pem --tls-key /etc/cimdb/server.key
              curl -s localhost:7480/health; curl -s localhost:7480/metrics
              cimdb server --export-token s3cret &
              curl -H 'Authorization: Bearer s3cret' 'localhost:7480/export?node=ti042&associations=true' 
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0: any free port, printed).")
    var port = 7480

    @Option(help: ArgumentHelp("This server's name in the database and logs (default HOST:PORT).", valueName: "name"))
    var name: String?

    @Option(help: "Database connections (one is the ingest writer's).")
    var connections = 4

    @Option(help: "Results applied in one batch at most.")
    var batch = 256

    @Option(help: "Results waiting at most before agents are asked to come back later.")
    var queueLimit = 20_000

    @Option(help: ArgumentHelp("The largest request body taken, in bytes (an agent sends larger journals in parts).", valueName: "bytes"))
    var maxBodyBytes = 64 << 20

    @Option(
        help: ArgumentHelp("Turns on GET /export (CIM-XML for external systems) for requests with Authorization: Bearer TOKEN.", valueName: "token"))
    var exportToken: String?

    @Option(help: ArgumentHelp("Serve https: the certificate chain (PEM), with --tls-key.", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("The private key (PEM) of --tls-cert; keep it 0600.", valueName: "file"))
    var tlsKey: String?

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard connections >= 2 else { throw ValidationError("--connections must be at least 2") }
        guard batch >= 1, queueLimit >= batch else { throw ValidationError("--batch must be ≥ 1 and --queue-limit ≥ --batch") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    func run() async throws {
        try await reportingErrors {
            let conninfo = try await database.conninfo()
            let logger = LogSetup.make("cimdb.server", level: logLevel)
            let configuration = ServerConfiguration(
                conninfo: conninfo, host: host, port: port, name: name, connections: connections,
                batchSize: batch, queueLimit: queueLimit, maximumBodyBytes: maxBodyBytes,
                exportToken: exportToken, tls: tlsCert.map { ServerConfiguration.TLS(certificateFile: $0, keyFile: tlsKey ?? "") })
            let host = self.host
            let scheme = tlsCert == nil ? "http" : "https"
            try await AgentServer(configuration: configuration, logger: logger).run { port in
                FileHandle.standardOutput.write(Data("cimdb server \(configuration.name) listening on \(scheme)://\(host):\(port)\n".utf8))
            }
        }
    }
}
