import AgentProtocol
import Foundation
import HTTPClient
import Synchronization

/// An answer from a server, verified: signed with a site key this agent trusts, for the very
/// request it answers (ResponseSignature).
struct ServerResponse: Sendable {
    var server: URL
    var status: Int
    var body: Data
    var retryAfter: Int?

    var isSuccess: Bool { (200..<300).contains(status) }

    /// The server's `{"error": …}` message, or the status (a body that is not one has no message).
    var message: String {
        (try? JSONDecoder().decode([String: String].self, from: body))?["error"] ?? "HTTP \(status)"
    }
}

/// The site keys the agent trusts (pinned at enrollment, rotated by signed announcements),
/// kept in the state file whenever they change.
final class Keyring: Sendable {
    private let keys: Mutex<[SiteKey.Public]>
    private let save: @Sendable ([SiteKey.Public]) async throws(AgentError) -> Void

    init(_ keys: [SiteKey.Public], save: @escaping @Sendable ([SiteKey.Public]) async throws(AgentError) -> Void) {
        self.keys = Mutex(keys)
        self.save = save
    }

    var trusted: [SiteKey.Public] { keys.withLock { $0 } }

    /// Adopts what a verified answer says about the keys; true when they changed.
    func adopt(_ verified: ResponseSignature.Verified) async throws(AgentError) -> Bool {
        let (before, after) = keys.withLock { keys in
            let before = keys
            keys = ResponseSignature.keyring(keys, after: verified)
            return (before, keys)
        }
        guard before != after else { return false }
        try await save(after)
        return true
    }
}

/// The agent's side of HTTP (HTTPClient: http://, or https:// verified against a CA; no
/// libcurl): signed requests to the servers it knows, and only verified answers back.
///
/// Both servers are active (SPEC §7): requests go to the current one; when it cannot be
/// reached, does not answer in time, answers 5xx, or answers with something that does not
/// verify, the next one is tried, and it becomes current.
///
/// Timeouts: 3 s to connect and 10 s to the first byte of the answer (and between reads): a
/// server that hangs (stopped, overloaded, its database gone) costs an agent a few seconds
/// before it turns to the other one, not the 60 s of a request timeout. An ingest answer comes
/// after the batch committed; a batch of 4 MiB commits in well under a second on a server that
/// is not overloaded, and an overloaded one answers 503 at once (its queue is full).
final class Transport: Sendable {
    static let connectTimeout: Duration = .seconds(3)
    static let responseTimeout: Duration = .seconds(10)

    let servers: [URL]
    let node: String
    let keyring: Keyring
    private let current = Mutex(0)
    private let client: HTTPClient
    /// For the task facility's long poll (`GET /v1/tasks`): the server holds it up to 50 s.
    private let pollClient: HTTPClient

    init(
        servers: [URL], node: String, keyring: Keyring, tls: TLSContext? = nil, connectTimeout: Duration = Transport.connectTimeout,
        timeout: Duration = Transport.responseTimeout
    ) {
        self.servers = servers
        self.node = node
        self.keyring = keyring
        client = HTTPClient(connectTimeout: connectTimeout, timeout: timeout, tls: tls)
        pollClient = HTTPClient(connectTimeout: connectTimeout, timeout: .seconds(TaskWork.pollTimeoutSeconds), tls: tls)
    }

    var currentServer: URL { servers[current.withLock { $0 }] }

    /// Sends a request (signed when `identity` is given) to the current server, failing over to
    /// the others. Throws `noServerAnswered` when none answered with a verified answer; a
    /// server's refusal (4xx) is an answer, and so is the last server's 5xx. `enrolling` is the
    /// site key fingerprint of an enrollment token: the enrollment answer is accepted when
    /// signed by that key.
    func send(
        _ method: String, _ path: String, body: [UInt8] = [], contentType: String? = nil,
        identity: NodeIdentity?, enrolling: String? = nil
    ) async throws(AgentError) -> ServerResponse {
        var failures: [String] = []
        let first = current.withLock { $0 }
        for offset in 0..<servers.count {
            let index = (first + offset) % servers.count
            let server = servers[index]
            do throws(AgentError) {
                let response = try await send(
                    method, path, body: body, contentType: contentType, identity: identity, enrolling: enrolling, to: server)
                if response.status >= 500 {
                    failures.append("\(server.absoluteString): \(response.message)")
                    if offset == servers.count - 1 { return response }
                    continue
                }
                current.withLock { $0 = index }
                return response
            } catch {
                failures.append("\(server.absoluteString): \(error)")
            }
        }
        current.withLock { $0 = (first + 1) % servers.count }
        throw .noServerAnswered(failures)
    }

    /// Sends a request to one server and verifies the answer; an answer that does not verify
    /// is an error (`unverifiedAnswer`): the caller acts on nothing in it.
    func send(
        _ method: String, _ path: String, body: [UInt8], contentType: String?, identity: NodeIdentity?, enrolling: String? = nil,
        to server: URL
    ) async throws(AgentError) -> ServerResponse {
        var headers = HTTPHeaders()
        if let contentType { headers.add("Content-Type", contentType) }
        let nonce = RequestSignature.randomNonce()
        if let identity {
            for (name, value) in RequestSignature.sign(method: method, path: path, body: body, identity: identity, nonce: nonce) {
                headers.add(name, value)
            }
        } else {
            // Unsigned (enrollment): the node and nonce still bind the answer to this request.
            headers.add(RequestSignature.nodeHeader, node)
            headers.add(RequestSignature.nonceHeader, nonce)
        }
        let response: HTTPResponse
        do {
            let client = path == "/v1/tasks" ? pollClient : client
            response = try await client.send(HTTPRequest(method: method, target: path, headers: headers, body: body), to: server.absoluteString)
        } catch {
            throw .transport(server: server.absoluteString, error)
        }
        let verified = ResponseSignature.verify(
            status: response.status, method: method, path: path, node: identity?.node ?? node, nonce: nonce, body: response.body,
            header: { response.headers[$0] }, trusted: keyring.trusted, enrolling: enrolling)
        switch verified {
        case .failure(let reason):
            throw .unverifiedAnswer(server: server.absoluteString, status: response.status, reason: reason.description)
        case .success(let verified):
            _ = try await keyring.adopt(verified)
        }
        return ServerResponse(
            server: server, status: response.status, body: Data(response.body),
            retryAfter: response.headers["Retry-After"].flatMap { Int($0) })
    }
}
