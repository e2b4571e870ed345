import AgentProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Ingest
import Inventory
import Logging
import NIOCore
import SQLCore
import Store

/// The handlers of `AgentServer`.
struct Routes: Sendable {
    var configuration: ServerConfiguration
    var pool: ConnectionPool
    var queue: IngestQueue
    var credentials: Credentials
    var metrics: ServerMetrics
    var logger: Logger

    func add(to router: Router<ServerContext>) {
        router.post("/v1/enroll") { request, context in await measured("enroll") { try await enroll(request, context) } }
        router.get("/v1/assignments") { request, context in await measured("assignments") { try await assignments(request, context) } }
        router.get("/v1/scripts/:hash") { request, context in await measured("scripts") { try await script(request, context) } }
        router.post("/v1/results") { request, context in await measured("results") { try await results(request, context) } }
        router.post("/v1/heartbeat") { request, context in await measured("heartbeat") { try await heartbeat(request, context) } }
        let export = ExternalSystemRoutes(configuration: configuration, pool: pool, logger: logger)
        router.get("/export") { request, _ in await measured("export") { try await export.respond(request) } }
        router.post("/v1/subscriptions") { request, _ in await measured("subscriptions") { try await export.subscribe(request) } }
        router.delete("/v1/subscriptions/:id") { request, context in
            await measured("subscriptions") { try await export.unsubscribe(request, id: context.parameters.get("id")) }
        }
        router.get("/health") { _, _ in await measured("health") { try await health() } }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: metrics.text())))
        }
    }

    // MARK: Handlers

    private func enroll(_ request: Request, _ context: ServerContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 64 << 10)
        guard let enrollment = try? JSONDecoder().decode(EnrollRequest.self, from: Data(body.readableBytesView)) else {
            return Self.error(.badRequest, "expected {\"node\", \"token\", \"publicKey\"} as JSON")
        }
        switch try await credentials.enroll(enrollment, remote: context.remoteAddress) {
        case .success: return Self.json(EnrollResponse(node: enrollment.node))
        case .failure(let refusal): return Self.error(.forbidden, refusal.description)
        }
    }

    private func assignments(_ request: Request, _ context: ServerContext) async throws -> Response {
        try await signed(request, context) { node, _ in
            let assignments = try await pool.withConnection { try AssignmentQueries.assignments(of: node, on: $0) }
            return Self.json(assignments)
        }
    }

    private func script(_ request: Request, _ context: ServerContext) async throws -> Response {
        try await signed(request, context) { _, _ in
            let hash = context.parameters.get("hash") ?? ""
            guard let content = try await pool.withConnection({ try AssignmentQueries.script(hash, on: $0) }) else {
                return Self.error(.notFound, "no script with SHA-256 \(hash)")
            }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: content)))
        }
    }

    private func results(_ request: Request, _ context: ServerContext) async throws -> Response {
        try await signed(request, context) { node, body in
            let batch: ResultBatch
            do {
                batch = try ResultBatch.decode(body)
            } catch let error as ResultBatchError {
                return Self.error(.badRequest, error.description)
            }
            let pending = batch.items.map { Self.pending($0, node: node) }
            let outcomes: [ResultBatchResponse.Outcome]
            do {
                outcomes = try await queue.submit(pending)
            } catch IngestUnavailable.queueFull {
                return Self.error(.serviceUnavailable, "the server is busy; keep the results and send them again", retryAfter: 2)
            } catch IngestUnavailable.database(let reason) {
                return Self.error(.serviceUnavailable, "the results were not applied (\(reason)); send them again", retryAfter: 5)
            }
            let version = try await pool.withConnection { try AssignmentQueries.assignments(of: node, on: $0).version }
            return Self.json(ResultBatchResponse(outcomes: outcomes, assignmentsVersion: version))
        }
    }

    private func heartbeat(_ request: Request, _ context: ServerContext) async throws -> Response {
        try await signed(request, context) { node, body in
            let beat = try? JSONDecoder().decode(Heartbeat.self, from: Data(body))
            let version = try await pool.withConnection { connection in
                try connection.execute("UPDATE cimdb.node SET agent_version = \(beat?.agentVersion), journaled = \(beat.map { SQLValue($0.journaled) } ?? SQLValue(nil as String?)) WHERE name = \(node)")
                return try AssignmentQueries.assignments(of: node, on: connection).version
            }
            return Self.json(HeartbeatResponse(assignmentsVersion: version))
        }
    }

    private func health() async throws -> Response {
        do {
            _ = try await pool.withConnection { try $0.execute("SELECT 1") }
            let depth = await queue.depth
            return Self.json(["status": "ok", "server": configuration.name, "queue": String(depth)])
        } catch {
            return Self.error(.serviceUnavailable, "the database does not answer: \(error)")
        }
    }

    // MARK: Support

    /// Reads the body, checks the signature, and runs `body` with the signing node.
    private func signed(_ request: Request, _ context: ServerContext,
                        _ handler: (String, [UInt8]) async throws -> Response) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: configuration.maximumBodyBytes)
        let bytes = [UInt8](body.readableBytesView)
        let headers = request.headers
        let authentication = try await credentials.authenticate(
            method: request.method.rawValue, path: request.head.path ?? "/", body: bytes, remote: context.remoteAddress
        ) { name in HTTPField.Name(name).flatMap { headers[$0] } }
        switch authentication {
        case .success(let node): return try await handler(node, bytes)
        case .failure(let error): return Self.error(.unauthorized, error.description)
        }
    }

    private func measured(_ route: String, _ body: () async throws -> Response) async -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await body()
        } catch let error as HTTPError {
            response = Self.error(error.status, error.body ?? error.status.reasonPhrase)
        } catch let error as NIOTooManyBytesError {
            response = Self.error(.contentTooLarge, "the request body is over this server's limit (\(error.maxBytes ?? configuration.maximumBodyBytes) bytes)")
        } catch let error as PostgresError where error.kind == .connection {
            logger.error("\(route): the database does not answer: \(error)")
            response = Self.error(.serviceUnavailable, "the database does not answer", retryAfter: 5)
        } catch {
            logger.error("\(route): \(error)")
            response = Self.error(.internalServerError, "\(error)")
        }
        metrics.request(route: route, status: response.status.code, duration: .now - start)
        return response
    }

    static func pending(_ item: ResultBatch.Item, node: String) -> PendingResult {
        switch item.kind {
        case .discovery:
            do {
                let result = try Envelope.decodeDiscovery(item.envelope)
                if result.node != node { return PendingResult(node: node, raw: item.envelope, payload: .misaddressed(.discovery, names: result.node)) }
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

    static func error(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) -> Response {
        let data = (try? JSONEncoder().encode(["error": message])) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
