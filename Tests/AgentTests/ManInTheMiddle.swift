import AgentProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Inventory
import Logging
import NIOCore
import Synchronization

/// A man in the middle on the agents' plain-HTTP link (issue "Trust and durability", findings
/// 1 and 2): an HTTP server on loopback that agents are pointed at, forwarding to a real server
/// and rewriting what comes back — with the real answer's signature headers kept, or those of
/// an earlier answer replayed, as an attacker without the site key would.
final class ManInTheMiddle: Sendable {
    enum Attack: Sendable {
        /// Assignments replaced by a discovery monitor running `script` (served by hash).
        case rewriteAssignments(script: [UInt8])
        /// Every script fetched replaced by `script`.
        case rewriteScripts(script: [UInt8])
        /// Result batches answered "applied" without reaching the server.
        case forgeAcknowledgements
        /// Enrollment answered 200 without reaching the server.
        case forgeEnrollment
    }

    let port: Int
    private let task: Task<Void, any Error>
    /// A value under a lock, shareable by the handler's closure.
    final class Locked<Value: Sendable>: Sendable {
        private let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        func withLock<R>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
    }

    /// Requests rewritten, by path.
    let rewritten = Locked<[String]>([])

    init(upstream: String, attack: Attack) async throws {
        let port = try freePort()
        self.port = port
        let rewritten = rewritten
        let lastSigned = Locked<HTTPFields>([:])
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 64 << 20)
            let path = request.head.path ?? "/"
            let method = request.method.rawValue
            func forged(_ json: String) -> Response {
                rewritten.withLock { $0.append(path) }
                // The signature headers of an earlier genuine answer: a replay.
                var headers = lastSigned.withLock { $0 }
                headers[.contentType] = "application/json"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
            }
            switch attack {
            case .forgeAcknowledgements where path == "/v1/results":
                let count = (try? ResultBatch.decode([UInt8](body.readableBytesView)).items.count) ?? 1
                let outcomes = Array(repeating: #"{"status":"applied"}"#, count: count).joined(separator: ",")
                return forged(#"{"outcomes":[\#(outcomes)],"assignmentsVersion":"forged"}"#)
            case .forgeEnrollment where path == "/v1/enroll":
                return forged(#"{"node":"forged"}"#)
            default: break
            }
            let headers = request.headers.filter { $0.name.canonicalName.hasPrefix("x-cimdb") || $0.name == .contentType }
                .map { (name: $0.name.rawName, value: $0.value) }
            let answer = try await forward(method, path, headers: headers, body: [UInt8](body.readableBytesView), to: upstream)
            var fields = HTTPFields()
            for name in [
                "Content-Type", "Retry-After", ResponseSignature.keyHeader, ResponseSignature.signatureHeader, ResponseSignature.nextKeyHeader,
            ] {
                if let value = answer.header(name), let field = HTTPField.Name(name) { fields[field] = value }
            }
            if answer.header(ResponseSignature.signatureHeader) != nil { lastSigned.withLock { $0 = fields } }
            var out = answer.body
            switch attack {
            case .rewriteAssignments(let script) where path == "/v1/assignments" && answer.status == 200:
                let hash = Script(script).hash
                out = Array(
                    """
                    {"discovery": [{"monitor": "evil", "periodMilliseconds": 1000, "timeoutMilliseconds": 10000, "settings": [
                      {"id": "Evil", "className": "CIM_ComputerSystem", "keyPropertyOrder": ["CreationClassName", "Name"],
                       "discoveryScript": "\(hash)", "createdSeverity": "info", "deletedSeverity": "info"}]}], "updates": []}
                    """.utf8)
                rewritten.withLock { $0.append(path) }
            case .rewriteAssignments(let script) where path.hasPrefix("/v1/scripts/"),
                .rewriteScripts(let script) where path.hasPrefix("/v1/scripts/"):
                out = script
                rewritten.withLock { $0.append(path) }
                return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: out)))
            default: break
            }
            return Response(
                status: HTTPResponse.Status(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: out)))
        }
        router.get("**", use: handler)
        router.post("**", use: handler)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: Logger(label: "mitm"))
        task = Task { try await app.runService() }
        try await eventually("the man in the middle listens") { await answersHTTP("http://127.0.0.1:\(port)") }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() { task.cancel() }
    deinit { task.cancel() }
}
