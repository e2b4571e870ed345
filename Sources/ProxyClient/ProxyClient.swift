import Foundation
import HTTPClient
public import Proxy

/// An integrator's side of the proxy's HTTP API (`cimdb proxy run --listen`, docs/proxy-protocol.md):
/// the seed's forward calls (register, support instances, sendEvent, sendAlarm, sendData) and
/// the back channel's callback, for a Swift program that talks to the proxy rather than to its
/// database. Every call that returns has its outcome durably recorded by the proxy.
///
/// ```swift
/// let proxy = try await ProxyClient.register(at: "http://127.0.0.1:7491", name: "bridge", version: "1.0")
/// _ = try await proxy.registerInstances([("node17", nil)])
/// _ = try await proxy.send(IntegratorMessage.Event(instance: "node17", time: ..., type: "disk", eventID: "e-1",
///                                                   severity: "major", state: "opened", text: "sdb"), qos: QoS(precedence: .urgent))
/// for request in try await proxy.requests(wait: .seconds(60)) { ... }
/// ```
public struct ProxyClient: Sendable {
    /// Why a call failed, with the seed's codes: −1 bad parameters (or, in session mode, an
    /// integrator whose registration the upstream has not acknowledged yet), −2 the proxy's
    /// infrastructure (a full queue, its database, or no answer at all).
    public typealias Failure = IntegratorFailure

    /// What became of a message: queued, discarded (rule 3), dropped (session mode before the
    /// proxy's registration is acknowledged); a rejection (rule 5) is thrown as −2.
    public struct Outcome: Sendable, Hashable, Decodable {
        public var outcome: String
        public var messageID: String
        public var detail: String

        enum CodingKeys: String, CodingKey {
            case outcome, messageID = "message_id", detail
        }
    }

    /// The proxy's base URL, e.g. `http://127.0.0.1:7491`.
    public let endpoint: String
    /// The integrator's handle (its remote services id).
    public let handle: String
    let token: String
    let client: HTTPClient

    /// A client for an integrator registered before (its handle and bearer token).
    public init(endpoint: String, handle: String, token: String) {
        self.endpoint = endpoint
        self.handle = handle
        self.token = token
        // Long polls wait up to 60 s on the proxy: the read timeout is above that.
        client = HTTPClient(connectTimeout: .seconds(5), timeout: .seconds(90), maximumBodyBytes: 64 << 20)
    }

    /// Registers (again: the same handle, a new token) and returns the client.
    public static func register(at endpoint: String, name: String, version: String) async throws(Failure) -> ProxyClient {
        struct Registered: Decodable {
            var handle: String
            var token: String
        }
        let anonymous = ProxyClient(endpoint: endpoint, handle: "", token: "")
        let registered: Registered = try await anonymous.call("POST", "/v1/integrators", ["name": name, "version": version], authorized: false)
        return ProxyClient(endpoint: endpoint, handle: registered.handle, token: registered.token)
    }

    /// Registers support instances (one registration message for the new ones); how many were new.
    public func registerInstances(_ instances: [(id: String, capabilities: String?)]) async throws(Failure) -> Int {
        struct Body: Encodable {
            struct Instance: Encodable {
                var id: String
                var capabilities: String?
            }
            var instances: [Instance]
        }
        struct New: Decodable { var new: Int }
        let new: New = try await call("POST", "/v1/instances", Body(instances: instances.map { .init(id: $0.id, capabilities: $0.capabilities) }))
        return new.new
    }

    /// Deregisters a support instance (kept upstream, inactive).
    public func deregisterInstance(_ id: String) async throws(Failure) {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove("/")
        let path = "/v1/instances/" + (id.addingPercentEncoding(withAllowedCharacters: allowed) ?? id)
        let _: [String: String] = try await call("DELETE", path, Optional<[String: String]>.none)
    }

    public func send(_ event: IntegratorMessage.Event, qos: QoS = QoS()) async throws(Failure) -> Outcome {
        struct Body: Encodable {
            var event: IntegratorMessage.Event
            var qos: QoS
        }
        return try await call("POST", "/v1/events", Body(event: event, qos: qos))
    }

    public func send(_ alarm: IntegratorMessage.Alarm, qos: QoS = QoS()) async throws(Failure) -> Outcome {
        struct Body: Encodable {
            var alarm: IntegratorMessage.Alarm
            var qos: QoS
        }
        return try await call("POST", "/v1/alarms", Body(alarm: alarm, qos: qos))
    }

    /// Data; with `requestID`, the answer to a back-channel request.
    public func send(_ data: IntegratorMessage.Data, qos: QoS = QoS()) async throws(Failure) -> Outcome {
        struct Body: Encodable {
            var data: IntegratorMessage.Data
            var qos: QoS
        }
        return try await call("POST", "/v1/data", Body(data: data, qos: qos))
    }

    /// The back channel's callback: the requests held for this integrator, each delivered
    /// once; waits up to `wait` (at most 60 s) for the first. Empty when none came.
    public func requests(wait: Duration = .zero, limit: Int = 100) async throws(Failure) -> [IntegratorMessage.Request] {
        let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
        return try await call("GET", "/v1/requests?wait=\(seconds)&limit=\(limit)", Optional<[String: String]>.none)
    }

    /// The body of a refusal: `{error, code}`.
    struct Refusal: Decodable { var error: String }

    /// One call: JSON in, JSON out; the proxy's refusals as failures with the seed's codes.
    func call<Body: Encodable, Answer: Decodable>(
        _ method: String, _ target: String, _ body: Body?, authorized: Bool = true
    ) async throws(Failure) -> Answer {
        var headers: HTTPHeaders = ["Accept": "application/json"]
        if authorized { headers.add("Authorization", "Bearer \(token)") }
        var bytes: [UInt8] = []
        if let body {
            headers.add("Content-Type", "application/json")
            do {
                bytes = Array(try JSONEncoder().encode(body))
            } catch {
                throw .parameters("cannot encode the call: \(error)")
            }
        }
        let response: HTTPResponse
        do {
            response = try await client.send(HTTPRequest(method: method, target: target, headers: headers, body: bytes), to: endpoint)
        } catch {
            throw .infrastructure("the proxy at \(endpoint) does not answer: \(error)")
        }
        guard response.status == 200 else {
            let text = (try? JSONDecoder().decode(Refusal.self, from: Data(response.body)))?.error ?? "HTTP \(response.status)"
            switch response.status {
            case 409: throw .notAcknowledged(text)
            case 400, 401, 404, 413: throw .parameters(text)
            default: throw .infrastructure(text)
            }
        }
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(response.body))
        } catch {
            throw .infrastructure("the proxy's answer to \(method) \(target) is not what the API gives: \(error)")
        }
    }
}
