import AgentProtocol
import Foundation
import HTTPClient
import Synchronization

/// An answer from a server.
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

/// The agent's side of HTTP (HTTPClient: plain http://, no libcurl): signed requests to the
/// servers it knows.
///
/// Both servers are active (SPEC §7): requests go to the current one; when it cannot be
/// reached or answers 5xx, the next one is tried, and it becomes current.
final class Transport: Sendable {
    let servers: [URL]
    private let current = Mutex(0)
    private let client: HTTPClient

    init(servers: [URL], timeout: Duration = .seconds(60)) {
        self.servers = servers
        client = HTTPClient(connectTimeout: .seconds(10), timeout: timeout)
    }

    var currentServer: URL { servers[current.withLock { $0 }] }

    /// Sends a request (signed when `identity` is given) to the current server, failing over to
    /// the others. Throws `noServerAnswered` when none answered; a server's refusal (4xx) is an
    /// answer, and so is the last server's 5xx.
    func send(
        _ method: String, _ path: String, body: [UInt8] = [], contentType: String? = nil,
        identity: NodeIdentity?
    ) async throws(AgentError) -> ServerResponse {
        var failures: [String] = []
        let first = current.withLock { $0 }
        for offset in 0..<servers.count {
            let index = (first + offset) % servers.count
            let server = servers[index]
            do {
                let response = try await send(method, path, body: body, contentType: contentType, identity: identity, to: server)
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

    /// Sends a request to one server.
    func send(
        _ method: String, _ path: String, body: [UInt8], contentType: String?, identity: NodeIdentity?,
        to server: URL
    ) async throws(HTTPClientError) -> ServerResponse {
        var headers = HTTPHeaders()
        if let contentType { headers.add("Content-Type", contentType) }
        if let identity {
            for (name, value) in RequestSignature.sign(method: method, path: path, body: body, identity: identity) {
                headers.add(name, value)
            }
        }
        let response = try await client.send(HTTPRequest(method: method, target: path, headers: headers, body: body), to: server.absoluteString)
        return ServerResponse(
            server: server, status: response.status, body: Data(response.body),
            retryAfter: response.headers["Retry-After"].flatMap { Int($0) })
    }
}
