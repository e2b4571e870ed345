import AgentProtocol
import CommandSupport
import Foundation
import HTTPTypes
import Hummingbird
import Ingest
import Inventory
import Logging
import NIOCore
import SQLCore
import Store
import TaskStore

/// The handlers of `AgentServer`, and the router they make.
///
/// Every route sits behind `RouteMetrics` (counted and timed) and `ErrorResponses` (what a
/// handler throws becomes an answer); the agents' routes but enrollment also behind
/// `SignedRequests`, which sets `context.node`, and all of them behind `SignedResponses`, which
/// signs every answer with the site key. Handlers throw `ClientError` for what the client must
/// change; anything else is a 500.
struct Routes: Sendable {
    var configuration: ServerConfiguration
    var pool: ConnectionPool
    /// Where results go (the ingest queue).
    var sink: any ResultSink
    /// How many results wait, for `/health`.
    var queueDepth: @Sendable () async -> Int
    var credentials: Credentials
    /// The key the agents' routes sign their answers with.
    var siteKeys: SiteKeys
    var metrics: ServerMetrics
    /// The agents' long polls for task work.
    var tasks: TaskDispatcher
    var logger: Logger

    func router() -> Router<ServerContext> {
        let router = Router(context: ServerContext.self)
        let errors = ErrorResponses(maximumBodyBytes: configuration.maximumBodyBytes, refusals: credentials)
        router.add(middleware: RouteMetrics(metrics: metrics))
        router.add(middleware: errors)
        // The agents' routes: every answer signed with the site key, refusals included.
        let agents = router.group().add(middleware: SignedResponses(keys: siteKeys, errors: errors))
        agents.post("/v1/enroll") { request, context in try await enroll(request, context) }
        agents.group()
            .add(middleware: SignedRequests(authenticator: credentials, maximumBodyBytes: configuration.maximumBodyBytes))
            .get("/v1/assignments") { _, context in try await assignments(context) }
            .get("/v1/scripts/:hash") { _, context in try await script(context) }
            .post("/v1/results") { request, context in try await results(request, context) }
            .post("/v1/heartbeat") { request, context in try await heartbeat(request, context) }
            .get("/v1/tasks") { _, context in try await taskWork(context) }
            .post("/v1/tasks/report") { request, context in try await taskReport(request, context) }
        let export = ExternalSystemRoutes(configuration: configuration, pool: pool, logger: logger)
        router.get("/export") { request, _ in try await export.respond(request) }
        router.post("/v1/subscriptions") { request, _ in try await export.subscribe(request) }
        router.delete("/v1/subscriptions/:id") { request, context in try await export.unsubscribe(request, id: context.parameters.get("id")) }
        router.get("/health") { _, _ in try await health() }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: metrics.text())))
        }
        return router
    }

    // MARK: Handlers

    private func enroll(_ request: Request, _ context: ServerContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 64 << 10)
        guard let enrollment = try? JSONDecoder().decode(EnrollRequest.self, from: Data(body.readableBytesView)) else {
            throw ClientError(.badRequest, "expected {\"node\", \"token\", \"publicKey\"} as JSON")
        }
        switch try await credentials.enroll(enrollment, remote: context.remoteAddress) {
        case .success: return Self.json(EnrollResponse(node: enrollment.node))
        case .failure(let refusal): throw ClientError(.forbidden, refusal.description)
        }
    }

    private func assignments(_ context: ServerContext) async throws -> Response {
        let node = try context.signer()
        return Self.json(try await pool.withConnection { try AssignmentQueries.assignments(of: node, on: $0) })
    }

    private func script(_ context: ServerContext) async throws -> Response {
        let hash = context.parameters.get("hash") ?? ""
        guard let content = try await pool.withConnection({ try AssignmentQueries.script(hash, on: $0) }) else {
            throw ClientError(.notFound, "no script with SHA-256 \(hash)")
        }
        return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: content)))
    }

    private func results(_ request: Request, _ context: ServerContext) async throws -> Response {
        let node = try context.signer()
        var request = request
        let body = try await request.collectBody(upTo: configuration.maximumBodyBytes)
        let batch: ResultBatch
        do {
            batch = try ResultBatch.decode([UInt8](body.readableBytesView))
        } catch {
            throw ClientError(.badRequest, error.description)
        }
        let pending = batch.items.map { Self.pending($0, node: node) }
        let outcomes: [ResultBatchResponse.Outcome]
        do {
            outcomes = try await sink.submit(pending)
        } catch IngestUnavailable.queueFull {
            throw ClientError(.serviceUnavailable, "the server is busy; keep the results and send them again", retryAfter: 2)
        } catch IngestUnavailable.database {
            // The reason is in the server's log (the worker's error), not for the agent.
            throw ClientError(.serviceUnavailable, "the results were not applied; keep them and send them again", retryAfter: 5)
        }
        let version = try await pool.withConnection { try AssignmentQueries.assignments(of: node, on: $0).version }
        return Self.json(ResultBatchResponse(outcomes: outcomes, assignmentsVersion: version))
    }

    private func heartbeat(_ request: Request, _ context: ServerContext) async throws -> Response {
        let node = try context.signer()
        var request = request
        let body = try await request.collectBody(upTo: configuration.maximumBodyBytes)
        let beat = try? JSONDecoder().decode(Heartbeat.self, from: Data(body.readableBytesView))
        let version = try await pool.withConnection { connection in
            try connection.execute(
                "UPDATE cimdb.node SET agent_version = \(beat?.agentVersion), journaled = \(beat.map { SQLValue($0.journaled) } ?? SQLValue(nil as String?)) WHERE name = \(node)"
            )
            return try AssignmentQueries.assignments(of: node, on: connection).version
        }
        return Self.json(HeartbeatResponse(assignmentsVersion: version))
    }

    /// The long poll: answers with work for the node as soon as there is some, or after 8 s
    /// with none (under the agent's 10 s first-byte timeout).
    private func taskWork(_ context: ServerContext) async throws -> Response {
        let node = try context.signer()
        return Self.json(await tasks.work(for: node, wait: .seconds(TaskWork.maximumWaitSeconds)))
    }

    private func taskReport(_ request: Request, _ context: ServerContext) async throws -> Response {
        let node = try context.signer()
        var request = request
        let body = try await request.collectBody(upTo: configuration.maximumBodyBytes)
        let report: TaskReport
        do {
            report = try JSONDecoder().decode(TaskReport.self, from: Data(body.readableBytesView))
        } catch {
            throw ClientError(.badRequest, "expected a task report as JSON: \(error)")
        }
        guard report.target.node == node else {
            throw ClientError(.forbidden, "node \(node) cannot report for \(report.target)")
        }
        let server = configuration.name
        do {
            let state = try await pool.withConnection { try TaskWorkQueries.report(report, node: node, server: server, on: $0) }
            return Self.json(TaskReportAnswer(state: state))
        } catch let error as PostgresError where error.sqlState == "42704" {
            throw ClientError(.notFound, error.message)
        }
    }

    private func health() async throws -> Response {
        do {
            _ = try await pool.withConnection { try $0.execute("SELECT 1") }
        } catch {
            logger.warning("health: the database does not answer: \(detailed: error)")
            throw ClientError(.serviceUnavailable, "the database does not answer")
        }
        return Self.json(["status": "ok", "server": configuration.name, "queue": String(await queueDepth())])
    }

    // MARK: Support

    static func pending(_ item: ResultBatch.Item, node: String) -> PendingResult {
        switch item.kind {
        case .discovery:
            do {
                let result = try Envelope.decodeDiscovery(item.envelope)
                if result.node != node {
                    return PendingResult(node: node, raw: item.envelope, payload: .misaddressed(.discovery, names: result.node))
                }
                return PendingResult(node: node, raw: item.envelope, payload: .discovery(result))
            } catch {
                return PendingResult(node: node, raw: item.envelope, payload: .undecodable(.discovery, error))
            }
        case .update:
            do {
                let result = try Envelope.decodeUpdate(item.envelope)
                if result.node != node { return PendingResult(node: node, raw: item.envelope, payload: .misaddressed(.update, names: result.node)) }
                return PendingResult(node: node, raw: item.envelope, payload: .update(result))
            } catch {
                return PendingResult(node: node, raw: item.envelope, payload: .undecodable(.update, error))
            }
        }
    }

    static func json(_ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
