import AgentProtocol
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Inventory
public import Logging
import NIOCore
import SQLCore
import Store
import TaskStore

/// `cimdb server`: the HTTP API agents talk to (SPEC §7). Stateless — everything it knows is in
/// the database, so any number of server processes can run in front of one database and an
/// agent can switch between them at any time.
///
/// Every answer on the `/v1/` agent routes is signed with the site key (`SignedResponses`).
///
/// | Route | Signed | What |
/// |---|---|---|
/// | `POST /v1/enroll` | no (token) | exchange an enrollment token for the node's credential |
/// | `GET /v1/assignments` | yes | the node's discovery and update monitors |
/// | `GET /v1/scripts/HASH` | yes | a script's bytes, by SHA-256 |
/// | `POST /v1/results` | yes | discovery and update results (ResultBatch framing) |
/// | `POST /v1/heartbeat` | yes | the agent is alive; answers the assignments' version |
/// | `GET /export?class=&node=&associations=` | bearer token | the inventory as CIM-XML, streamed |
/// | `POST /v1/subscriptions`, `DELETE /v1/subscriptions/ID` | bearer token | subscribe a URL to changes |
/// | `GET /health` | no | 200 when the database answers |
/// | `GET /metrics` | no | Prometheus text format |
public struct AgentServer: Sendable {
    public var configuration: ServerConfiguration
    public var logger: Logger

    public init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until the task is cancelled or the process gets SIGINT/SIGTERM. `onListening`
    /// gets the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        // A server that stops between the statements of a transaction (SIGSTOP, a VM paused, a
        // thread stuck) would hold its row and event-order locks for as long as its socket
        // lives and so stall every other server's ingest: PostgreSQL ends such a session after
        // 10 s idle in a transaction. Our own transactions never wait on anything but the
        // database between statements; a batch ended this way is redelivered by its agent.
        let pool = ConnectionPool(
            conninfo: configuration.conninfo, size: configuration.connections,
            settings: [(name: "idle_in_transaction_session_timeout", value: "10s")])
        let metrics = ServerMetrics()
        let queue = IngestQueue(limit: configuration.queueLimit, metrics: metrics)
        let credentials = Credentials(pool: pool, serverName: configuration.name, logger: logger, metrics: metrics)
        let dispatcher = TaskDispatcher(conninfo: configuration.conninfo, serverName: configuration.name, logger: logger)
        let routes = Routes(
            configuration: configuration, pool: pool, sink: queue, queueDepth: { await queue.depth }, credentials: credentials,
            siteKeys: SiteKeys(pool: pool), metrics: metrics, tasks: dispatcher, logger: logger)
        let router = routes.router()
        let worker = IngestWorker(
            queue: queue, processor: DatabaseProcessors(pool: pool, configuration: configuration, logger: logger),
            batchSize: configuration.batchSize, logger: logger)
        let app = Application(
            router: router, server: try Self.serverBuilder(configuration.tls),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "cimdb"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await worker.run() }
            group.addTask { await dispatcher.run() }
            group.addTask {
                await Chores.repeatedly(every: .seconds(3600), "drop task outputs past their retention", logger: logger) {
                    _ = try await pool.withConnection { try $0.execute("SELECT cimdb.forget_old_task_outputs()") }
                }
            }
            group.addTask {
                await Chores.repeatedly(every: .seconds(60), "delete old request nonces", logger: logger) {
                    try await Chores.forgetOldNonces(pool: pool)
                }
            }
            group.addTask {
                await Chores.repeatedly(every: .seconds(2), "refresh the report aggregates", logger: logger) {
                    try await Chores.refreshReportAggregates(pool: pool)
                }
            }
            let delivery = SubscriptionDelivery(conninfo: configuration.conninfo, serverName: configuration.name, logger: logger)
            group.addTask { await delivery.run() }
            group.addTask { try await app.runService() }
            // The application returns on SIGINT/SIGTERM; the background tasks follow it.
            try await group.next()
            await queue.shutDown()
            group.cancelAll()
        }
        await pool.close()
    }

    /// HTTP/1.1, over TLS when a certificate is given (HummingbirdTLS, swift-nio-ssl).
    static func serverBuilder(_ tls: ServerConfiguration.TLS?) throws -> HTTPServerBuilder {
        guard let tls else { return .http1() }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile)
            key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
        } catch {
            throw ServerStartError("cannot read the TLS certificate \(tls.certificateFile) or key \(tls.keyFile): \(error)")
        }
        guard !chain.isEmpty else { throw ServerStartError("\(tls.certificateFile) holds no certificate") }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return try .tls(.http1(), tlsConfiguration: configuration)
    }
}

/// Why a server cannot start (its configuration).
public struct ServerStartError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
