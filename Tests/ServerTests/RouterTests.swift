import AgentProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InstallationTesting
import Inventory
import Logging
import NIOCore
import SQLCore
@testable import Server
import Store
import Synchronization
import TaskStore
import Testing

/// The server's router driven in-process (HummingbirdTesting, no sockets): the middleware —
/// signed requests, errors as answers, metrics — and the results route against a fake sink.
/// Credentials and assignments are the real ones, in a test database.
@Suite("router in-process", .timeLimit(.minutes(2)))
struct RouterTests {
    /// Records what it is given and answers what it is told.
    final class FakeSink: ResultSink {
        let received = Mutex<[[PendingResult]]>([])
        let answer: @Sendable ([PendingResult]) throws -> [ResultBatchResponse.Outcome]

        init(answer: @escaping @Sendable ([PendingResult]) throws -> [ResultBatchResponse.Outcome] = { $0.map { _ in .init(status: .applied) } }) {
            self.answer = answer
        }

        func submit(_ results: [PendingResult]) async throws -> [ResultBatchResponse.Outcome] {
            received.withLock { $0.append(results) }
            return try answer(results)
        }
    }

    struct Fixture {
        var routes: Routes
        var identity: NodeIdentity
        var sink: FakeSink
        var pool: ConnectionPool

        func application() -> some ApplicationProtocol {
            Application(router: routes.router(), logger: Logger(label: "test"))
        }

        /// A results request signed by the fixture's node.
        func resultsRequest(_ items: [ResultBatch.Item], as identity: NodeIdentity? = nil) -> (HTTPFields, ByteBuffer) {
            let body = ResultBatch(items).encoded()
            var headers = Self.signed("POST", "/v1/results", body: body, identity: identity ?? self.identity, nonce: RequestSignature.randomNonce())
            headers[.contentType] = ResultBatch.contentType
            return (headers, ByteBuffer(bytes: body))
        }

        static func signed(_ method: String, _ path: String, body: [UInt8], identity: NodeIdentity, nonce: String) -> HTTPFields {
            var headers: HTTPFields = [:]
            for (name, value) in RequestSignature.sign(method: method, path: path, body: body, identity: identity, nonce: nonce) {
                headers[HTTPField.Name(name)!] = value
            }
            return headers
        }

        /// The site's current public key, as the agents pin it.
        func siteKey() async throws -> SiteKey.Public {
            try await pool.withConnection { try SiteKeyStore.signing(on: $0).current.public }
        }
    }

    /// A test database with node `n1` enrolled, and routes over it with `sink`.
    static func fixture(sink: FakeSink = FakeSink(), maximumBodyBytes: Int = 1 << 20) async throws -> Fixture {
        let pool = try await TestDatabases.pool(configured: true)
        let identity = NodeIdentity(node: "n1")
        let token = try await pool.withConnection { try Enrollment.createToken(for: "n1", validFor: .seconds(600), on: $0) }
        let configuration = ServerConfiguration(conninfo: pool.conninfo, name: "test", maximumBodyBytes: maximumBodyBytes)
        let metrics = ServerMetrics()
        let logger = Logger(label: "test")
        let credentials = Credentials(pool: pool, serverName: "test", logger: logger, metrics: metrics)
        let enrolled = try await credentials.enroll(
            EnrollRequest(node: "n1", token: token, publicKey: identity.publicKeyBase64), remote: nil)
        guard case .success = enrolled else { throw TestFailure("enrollment refused") }
        let routes = Routes(
            configuration: configuration, pool: pool, sink: sink, queueDepth: { 42 }, credentials: credentials,
            siteKeys: SiteKeys(pool: pool), metrics: metrics,
            tasks: TaskDispatcher(conninfo: pool.conninfo, serverName: "test", logger: logger), logger: logger)
        return Fixture(routes: routes, identity: identity, sink: sink, pool: pool)
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func update(node: String, sequence: Int64) -> ResultBatch.Item {
        let result = UpdateResult(
            node: node, settings: "s", property: "p", sequence: sequence, startedAt: "2026-12-03T00:00:00.000Z",
            finishedAt: "2026-12-03T00:00:00.000Z", status: .ok, output: Array("1\n".utf8))
        return ResultBatch.Item(kind: .update, envelope: Envelope.encode(result))
    }

    static func errorMessage(_ body: ByteBuffer) -> String? {
        (try? JSONDecoder().decode([String: String].self, from: Data(body.readableBytesView)))?["error"]
    }

    @Test("signed results reach the sink with the signing node, and the sink's outcomes are the answer")
    func resultsReachTheSink() async throws {
        let sink = FakeSink { results in results.enumerated().map { $0.offset == 0 ? .init(status: .applied) : .init(status: .duplicate) } }
        let fixture = try await Self.fixture(sink: sink)
        try await fixture.application().test(.router) { client in
            let (headers, body) = fixture.resultsRequest([Self.update(node: "n1", sequence: 1), Self.update(node: "n1", sequence: 2)])
            try await client.execute(uri: "/v1/results", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .ok)
                let answer = try JSONDecoder().decode(ResultBatchResponse.self, from: Data(response.body.readableBytesView))
                #expect(answer.outcomes.map(\.status) == [.applied, .duplicate])
                #expect(!answer.assignmentsVersion.isEmpty)
            }
            // An envelope that names another node is handed on as misaddressed, not as n1's.
            let (otherHeaders, otherBody) = fixture.resultsRequest([Self.update(node: "n2", sequence: 3)])
            try await client.execute(uri: "/v1/results", method: .post, headers: otherHeaders, body: otherBody) { response in
                #expect(response.status == .ok)
            }
        }
        let received = sink.received.withLock { $0 }
        #expect(received.count == 2)
        #expect(received[0].map(\.node) == ["n1", "n1"])
        #expect(received[0].map(\.kind) == ["update", "update"])
        #expect(received[0].allSatisfy { $0.isApplicable })
        guard case .misaddressed(_, let names) = received[1][0].payload else {
            Issue.record("expected misaddressed, got \(received[1][0].payload)"); return
        }
        #expect(names == "n2")
    }

    @Test("unsigned or badly signed requests are refused with 401 before any route runs; metrics count them")
    func unsignedRequestsAreRefused() async throws {
        let fixture = try await Self.fixture()
        try await fixture.application().test(.router) { client in
            let body = ByteBuffer(bytes: ResultBatch([Self.update(node: "n1", sequence: 1)]).encoded())
            try await client.execute(uri: "/v1/results", method: .post, body: body) { response in
                #expect(response.status == .unauthorized)
                #expect(Self.errorMessage(response.body)?.isEmpty == false)
            }
            // Signed by a key the server does not know for n1.
            let (headers, signed) = fixture.resultsRequest([Self.update(node: "n1", sequence: 1)], as: NodeIdentity(node: "n1"))
            try await client.execute(uri: "/v1/results", method: .post, headers: headers, body: signed) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/assignments", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"cimdb_server_requests_total{route="results",status="401"} 2"#))
                #expect(text.contains(#"cimdb_server_requests_total{route="assignments",status="401"} 1"#))
            }
        }
        #expect(fixture.sink.received.withLock { $0.isEmpty })
    }

    @Test("a full queue is a 503 with Retry-After; the agent keeps its results")
    func aFullQueueIsA503() async throws {
        let fixture = try await Self.fixture(sink: FakeSink { _ in throw IngestUnavailable.queueFull })
        try await fixture.application().test(.router) { client in
            let (headers, body) = fixture.resultsRequest([Self.update(node: "n1", sequence: 1)])
            try await client.execute(uri: "/v1/results", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "2")
                #expect(Self.errorMessage(response.body)?.contains("busy") == true)
            }
        }
    }

    @Test("an unexpected failure is a bare 500 with the request id: no database text reaches the client")
    func unexpectedFailuresAreBare500s() async throws {
        let secret = "relation cim.secret_table_name does not exist"
        let fixture = try await Self.fixture(
            sink: FakeSink { _ in
                throw PostgresError(kind: .query, message: secret, sqlState: "42P01", detail: "password=hunter2")
            })
        try await fixture.application().test(.router) { client in
            let (headers, body) = fixture.resultsRequest([Self.update(node: "n1", sequence: 1)])
            try await client.execute(uri: "/v1/results", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .internalServerError)
                let text = String(buffer: response.body)
                #expect(!text.contains("secret_table_name"))
                #expect(!text.contains("hunter2"))
                #expect(!text.contains("42P01"))
                #expect(Self.errorMessage(response.body)?.hasPrefix("internal error (request ") == true)
            }
        }
    }

    @Test("client errors are JSON with their status: bad batch 400, over the body limit 413, unknown script 404; health answers")
    func clientErrors() async throws {
        let fixture = try await Self.fixture(maximumBodyBytes: 4096)
        try await fixture.application().test(.router) { client in
            // A batch that does not decode, properly signed.
            let garbage: [UInt8] = Array("not a batch".utf8)
            var headers: HTTPFields = [:]
            for (name, value) in RequestSignature.sign(method: "POST", path: "/v1/results", body: garbage, identity: fixture.identity) {
                headers[HTTPField.Name(name)!] = value
            }
            try await client.execute(uri: "/v1/results", method: .post, headers: headers, body: ByteBuffer(bytes: garbage)) { response in
                #expect(response.status == .badRequest)
                #expect(Self.errorMessage(response.body)?.hasPrefix("result batch, byte") == true)
            }
            // Over the limit: an unsigned body is refused before it is read; a signed one is 413.
            let big = [UInt8](repeating: 0x41, count: 10_000)
            try await client.execute(uri: "/v1/results", method: .post, body: ByteBuffer(bytes: big)) { response in
                #expect(response.status == .unauthorized)
            }
            let bigHeaders = Fixture.signed("POST", "/v1/results", body: big, identity: fixture.identity, nonce: RequestSignature.randomNonce())
            try await client.execute(uri: "/v1/results", method: .post, headers: bigHeaders, body: ByteBuffer(bytes: big)) { response in
                #expect(response.status == .contentTooLarge)
                #expect(Self.errorMessage(response.body)?.contains("4096 bytes") == true)
            }
            var scriptHeaders: HTTPFields = [:]
            let path = "/v1/scripts/" + String(repeating: "0", count: 64)
            for (name, value) in RequestSignature.sign(method: "GET", path: path, body: [], identity: fixture.identity) {
                scriptHeaders[HTTPField.Name(name)!] = value
            }
            try await client.execute(uri: path, method: .get, headers: scriptHeaders) { response in
                #expect(response.status == .notFound)
                #expect(Self.errorMessage(response.body)?.hasPrefix("no script with SHA-256") == true)
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let health = try JSONDecoder().decode([String: String].self, from: Data(response.body.readableBytesView))
                #expect(health == ["status": "ok", "server": "test", "queue": "42"])
            }
            try await client.execute(uri: "/export", method: .get) { response in
                #expect(response.status == .forbidden)
                #expect(Self.errorMessage(response.body)?.contains("--export-token") == true)
            }
        }
    }

    @Test("every answer on the agents' routes is signed with the site key for the request's nonce, refusals included")
    func answersAreSigned() async throws {
        let fixture = try await Self.fixture()
        let siteKey = try await fixture.siteKey()
        try await fixture.application().test(.router) { client in
            func check(_ response: TestResponse, method: String, path: String, node: String, nonce: String) {
                let verified = ResponseSignature.verify(
                    status: Int(response.status.code), method: method, path: path, node: node, nonce: nonce, body: response.body.readableBytesView,
                    header: { name in HTTPField.Name(name).flatMap { response.headers[$0] } }, trusted: [siteKey])
                #expect((try? verified.get())?.signer == siteKey, "\(method) \(path) \(response.status): \(verified)")
                // Bound to the request: the same answer does not verify for another nonce.
                let moved = ResponseSignature.verify(
                    status: Int(response.status.code), method: method, path: path, node: node, nonce: RequestSignature.randomNonce(),
                    body: response.body.readableBytesView, header: { name in HTTPField.Name(name).flatMap { response.headers[$0] } },
                    trusted: [siteKey])
                #expect(moved == .failure(.badSignature))
            }
            let nonce = RequestSignature.randomNonce()
            let headers = Fixture.signed("GET", "/v1/assignments", body: [], identity: fixture.identity, nonce: nonce)
            try await client.execute(uri: "/v1/assignments", method: .get, headers: headers) { response in
                #expect(response.status == .ok)
                check(response, method: "GET", path: "/v1/assignments", node: "n1", nonce: nonce)
            }
            // A replay is refused, and the refusal is signed for the replayed request's nonce.
            try await client.execute(uri: "/v1/assignments", method: .get, headers: headers) { response in
                #expect(response.status == .unauthorized)
                check(response, method: "GET", path: "/v1/assignments", node: "n1", nonce: nonce)
            }
            let (results, body) = fixture.resultsRequest([Self.update(node: "n1", sequence: 1)])
            try await client.execute(uri: "/v1/results", method: .post, headers: results, body: body) { response in
                #expect(response.status == .ok)
                check(response, method: "POST", path: "/v1/results", node: "n1", nonce: results[HTTPField.Name(RequestSignature.nonceHeader)!]!)
            }
            // Task reports: for a target that does not exist (404), for another node's (403).
            for (reported, status) in [("n1", HTTPResponse.Status.notFound), ("n2", .forbidden)] {
                let report = [UInt8](try JSONEncoder().encode(TaskReport(target: TaskTargetID(task: 999, node: reported), state: .running)))
                let reportNonce = RequestSignature.randomNonce()
                var reportHeaders = Fixture.signed("POST", "/v1/tasks/report", body: report, identity: fixture.identity, nonce: reportNonce)
                reportHeaders[.contentType] = "application/json"
                try await client.execute(uri: "/v1/tasks/report", method: .post, headers: reportHeaders, body: ByteBuffer(bytes: report)) {
                    response in
                    #expect(response.status == status)
                    check(response, method: "POST", path: "/v1/tasks/report", node: "n1", nonce: reportNonce)
                }
            }
        }
    }

    @Test("a body other than the signed one is refused (401); malformed and oversized requests are recorded with their status")
    func refusalsAreRecorded() async throws {
        let fixture = try await Self.fixture(maximumBodyBytes: 4096)
        try await fixture.application().test(.router) { client in
            let signedBody = ResultBatch([Self.update(node: "n1", sequence: 1)]).encoded()
            let headers = Fixture.signed("POST", "/v1/results", body: signedBody, identity: fixture.identity, nonce: RequestSignature.randomNonce())
            try await client.execute(uri: "/v1/results", method: .post, headers: headers, body: ByteBuffer(bytes: signedBody + [0x0A])) { response in
                #expect(response.status == .unauthorized)
                #expect(Self.errorMessage(response.body)?.contains("signed SHA-256") == true)
            }
            let garbage = Array("update 3 \nabc\n".utf8)
            let garbageHeaders = Fixture.signed(
                "POST", "/v1/results", body: garbage, identity: fixture.identity, nonce: RequestSignature.randomNonce())
            try await client.execute(uri: "/v1/results", method: .post, headers: garbageHeaders, body: ByteBuffer(bytes: garbage)) { response in
                #expect(response.status == .badRequest)
            }
            let big = [UInt8](repeating: 0x41, count: 10_000)
            let bigHeaders = Fixture.signed("POST", "/v1/results", body: big, identity: fixture.identity, nonce: RequestSignature.randomNonce())
            try await client.execute(uri: "/v1/results", method: .post, headers: bigHeaders, body: ByteBuffer(bytes: big)) { response in
                #expect(response.status == .contentTooLarge)
            }
        }
        let rows = try await fixture.pool.withConnection {
            try $0.execute("SELECT status, node, reason FROM cimdb.refused_request ORDER BY id").map { "\($0["status"] ?? "") \($0["node"] ?? "")" }
        }
        #expect(rows == ["401 n1", "400 n1", "413 n1"])
    }

    @Test("a timestamp of −2^63 or 2^63−1 with an enrolled node's name is a 401, not a crash (finding 8)")
    func extremeTimestampsAreRefused() async throws {
        let fixture = try await Self.fixture()
        try await fixture.application().test(.router) { client in
            for stamp in [Int64.min, Int64.max, Int64.min + 1] {
                var headers = Fixture.signed("GET", "/v1/assignments", body: [], identity: fixture.identity, nonce: RequestSignature.randomNonce())
                headers[HTTPField.Name(RequestSignature.timestampHeader)!] = String(stamp)
                try await client.execute(uri: "/v1/assignments", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized)
                    #expect(Self.errorMessage(response.body)?.contains("timestamp") == true)
                }
            }
            // The server still answers.
            try await client.execute(uri: "/health", method: .get) { response in #expect(response.status == .ok) }
        }
    }
}
