import Foundation
import HTTPTypes
import Hummingbird
public import Logging
import NIOCore
import Proxy
import SQLCore
import Store

/// The integrator API over HTTP (`cimdb proxy run --listen`): the same calls as the `cimdb
/// proxy` commands, for programs that keep a connection to the proxy rather than to the
/// database. Loopback by default. An integrator registers and gets a handle and a bearer
/// token (stored as its SHA-256 only; registering again issues a new one); every other call
/// carries `Authorization: Bearer TOKEN`. A 200 means the outcome is durable.
///
/// | Route | Body | Answer |
/// |---|---|---|
/// | `POST /v1/integrators` | `{name, version}` | `{handle, token}` |
/// | `POST /v1/instances` | `{instances: [{id, capabilities?}]}` | `{new}` |
/// | `DELETE /v1/instances/ID` | | `{}` |
/// | `POST /v1/events` | `{event: {instance, time, type, event_id, severity, state, text, data?}, qos?}` | `{outcome, message_id, detail}` |
/// | `POST /v1/alarms` | `{alarm: {instance, time, type, severity, text, data?}, qos?}` | the same |
/// | `POST /v1/data` | `{data: {instance, class, subclass, request_id?, data}, qos?}` | the same |
/// | `GET /v1/requests?wait=S&limit=N` | | `[{id, kind, destination, instance, body, received_at}]`: the back channel's requests held for it (a long poll up to S ≤ 60 seconds), delivered from now on |
/// | `GET /v1/queue` | | `[{precedence, messages, bytes, oldest}]` |
/// | `GET /health` | | `{status}` |
///
/// Errors are `{error, code}` with the seed's code: −1 (400 bad parameters; 409 an integrator
/// not acknowledged yet) or −2 (503: the queue is full — `outcome: rejected` — or the database).
public struct IntegratorAPI: Sendable {
    public var conninfo: String
    public var host: String
    public var port: Int
    public var logger: Logger

    public init(conninfo: String, host: String, port: Int, logger: Logger) {
        self.conninfo = conninfo
        self.host = host
        self.port = port
        self.logger = logger
    }

    /// Requests carrying a message, with its quality of service (default: normal, no TTL,
    /// normal persistence).
    struct EventRequest: Decodable {
        var event: IntegratorMessage.Event
        var qos: QoS?
    }

    struct AlarmRequest: Decodable {
        var alarm: IntegratorMessage.Alarm
        var qos: QoS?
    }

    struct DataRequest: Decodable {
        var data: IntegratorMessage.Data
        var qos: QoS?
    }

    struct Registration: Decodable {
        var name: String
        var version: String
    }

    struct Instances: Decodable {
        struct Instance: Decodable {
            var id: String
            var capabilities: String?
        }
        var instances: [Instance]
    }

    /// An answer that is not a 200.
    struct Refusal: Error {
        var status: HTTPResponse.Status
        var message: String
        var code: Int
    }

    /// Serves until the task is cancelled. `onListening` gets the bound port.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let pool = ConnectionPool(conninfo: conninfo, size: 4, settings: [(name: "idle_in_transaction_session_timeout", value: "10s")])
        defer { Task { await pool.close() } }
        let router = Router()
        router.get("/health") { _, _ -> Response in
            do {
                _ = try await pool.withConnection { try $0.execute("SELECT 1") }
                return Self.json(.ok, ["status": "ok"])
            } catch {
                return Self.json(.serviceUnavailable, ["error": "the database does not answer"])
            }
        }
        router.post("/v1/integrators") { request, _ in
            await Self.answering {
                let registration: Registration = try await Self.decode(request)
                let token = Self.newToken()
                let handle = try await Self.database(pool) { c in
                    let handle = try ProxyQueries.register(name: registration.name, version: registration.version, on: c)
                    try ProxyQueries.setToken(handle: handle, token: token, on: c)
                    return handle
                }
                return Self.json(.ok, ["handle": handle, "token": token])
            }
        }
        router.post("/v1/instances") { request, _ in
            await Self.answering {
                let handle = try await Self.integrator(request, pool)
                let body: Instances = try await Self.decode(request)
                for instance in body.instances {
                    if let capabilities = instance.capabilities, let problem = WellFormedXML.problem(Array(capabilities.utf8)) {
                        throw Refusal(status: .badRequest, message: "the capabilities of \(instance.id): \(problem)", code: -1)
                    }
                }
                let instances = body.instances.map { (id: $0.id, capabilities: $0.capabilities) }
                let new = try await Self.database(pool) { c in try ProxyQueries.registerInstances(handle: handle, instances: instances, on: c) }
                return Self.json(.ok, ["new": new])
            }
        }
        router.delete("/v1/instances/:id") { request, context in
            await Self.answering {
                let handle = try await Self.integrator(request, pool)
                let id = context.parameters.get("id") ?? ""
                try await Self.database(pool) { c in try ProxyQueries.deregisterInstance(handle: handle, instance: id, on: c) }
                return Self.json(.ok, [String: String]())
            }
        }
        router.post("/v1/events") { request, _ in
            await Self.answering {
                let handle = try await Self.integrator(request, pool)
                let body: EventRequest = try await Self.decode(request)
                try Self.check(severity: body.event.severity)
                return try await Self.send(pool, handle, "event", body.event.instance, body.event.eventID, body.qos, body.event)
            }
        }
        router.post("/v1/alarms") { request, _ in
            await Self.answering {
                let handle = try await Self.integrator(request, pool)
                let body: AlarmRequest = try await Self.decode(request)
                try Self.check(severity: body.alarm.severity)
                return try await Self.send(pool, handle, "alarm", body.alarm.instance, nil, body.qos, body.alarm)
            }
        }
        router.post("/v1/data") { request, _ in
            await Self.answering {
                let handle = try await Self.integrator(request, pool)
                let body: DataRequest = try await Self.decode(request)
                return try await Self.send(pool, handle, "data", body.data.instance, nil, body.qos, body.data)
            }
        }
        // The back channel's callback, a long poll: the requests held for this integrator, or
        // an empty list after `wait` seconds (at most 60) without one.
        router.get("/v1/requests") { request, _ in
            await Self.answering {
                let handle = try await Self.integrator(request, pool)
                let wait = min(max(request.uri.queryParameters.get("wait").flatMap { Double($0) } ?? 0, 0), 60)
                let limit = min(max(request.uri.queryParameters.get("limit").flatMap { Int($0) } ?? 100, 1), 1000)
                let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
                while true {
                    let taken = try await Self.database(pool) { c in try ProxyQueries.takeRequests(handle: handle, limit: limit, on: c) }
                    if !taken.isEmpty || ContinuousClock.now >= deadline { return Self.json(.ok, taken) }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        router.get("/v1/queue") { _, _ in
            await Self.answering {
                let depth = try await Self.database(pool) { c in try ProxyQueries.depth(on: c) }
                let rows = depth.map {
                    ["precedence": $0.precedence, "messages": String($0.messages), "bytes": String($0.bytes), "oldest": $0.oldest ?? ""]
                }
                return Self.json(.ok, rows)
            }
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "cimdb-proxy"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) }, logger: logger)
        try await app.runService()
    }

    static func send(
        _ pool: ConnectionPool, _ handle: String, _ kind: String, _ instance: String, _ eventID: String?, _ qos: QoS?, _ message: some Encodable
    ) async throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = String(decoding: try encoder.encode(message), as: UTF8.self)
        let qos = qos ?? QoS()
        let outcome = try await database(pool) { c in
            try ProxyQueries.send(handle: handle, kind: kind, instance: instance, eventID: eventID, qos: qos, body: body, on: c)
        }
        let answer = ["outcome": outcome.outcome, "message_id": outcome.messageID ?? "", "detail": outcome.detail ?? ""]
        guard outcome.isSuccess else {
            return json(.serviceUnavailable, answer.merging(["error": outcome.detail ?? "the queue is full", "code": "-2"]) { $1 })
        }
        return json(.ok, answer)
    }

    static func check(severity: String) throws {
        guard IntegratorMessage.severities.contains(severity) else {
            throw Refusal(
                status: .badRequest, message: "severity \(severity): one of \(IntegratorMessage.severities.joined(separator: ", "))", code: -1)
        }
    }

    /// The integrator a request's bearer token names; 401 otherwise.
    static func integrator(_ request: Request, _ pool: ConnectionPool) async throws -> String {
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") else {
            throw Refusal(status: .unauthorized, message: "integrator calls need Authorization: Bearer TOKEN (from POST /v1/integrators)", code: -1)
        }
        let token = String(authorization.dropFirst("Bearer ".count))
        guard let handle = try await database(pool, { c in try ProxyQueries.handle(forToken: token, on: c) }) else {
            throw Refusal(status: .unauthorized, message: "unknown token: register again (POST /v1/integrators)", code: -1)
        }
        return handle
    }

    static func decode<T: Decodable>(_ request: Request) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 16 << 20)
        } catch {
            throw Refusal(status: .contentTooLarge, message: "a call is at most 16 MiB", code: -1)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw Refusal(status: .badRequest, message: "the body is not what this call takes: \(error)", code: -1)
        }
    }

    /// A database call; the queue's failures as refusals with the seed's codes.
    static func database<T: Sendable>(_ pool: ConnectionPool, _ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        do {
            return try await pool.withConnection { c in try body(c) }
        } catch let failure as ProxyQueries.Failure {
            switch failure {
            case .parameters(let text): throw Refusal(status: .badRequest, message: text, code: -1)
            case .notAcknowledged(let text): throw Refusal(status: .conflict, message: text, code: -1)
            case .infrastructure(let text): throw Refusal(status: .serviceUnavailable, message: text, code: -2)
            }
        } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw Refusal(status: .serviceUnavailable, message: "the database: \(error)", code: -2)
        }
    }

    static func answering(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let refusal as Refusal {
            return json(refusal.status, ["error": refusal.message, "code": String(refusal.code)])
        } catch {
            return json(.serviceUnavailable, ["error": "\(error)", "code": "-2"])
        }
    }

    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    static func json(_ status: HTTPResponse.Status, _ object: some Encodable) -> Response {
        let data = (try? JSONEncoder().encode(object)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
