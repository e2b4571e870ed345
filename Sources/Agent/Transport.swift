import AgentProtocol
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An answer from a server.
struct ServerResponse: Sendable {
    var server: URL
    var status: Int
    var body: Data
    var retryAfter: Int?

    var isSuccess: Bool { (200..<300).contains(status) }

    /// The server's `{"error": …}` message, or the status.
    var message: String {
        (try? JSONDecoder().decode([String: String].self, from: body))?["error"] ?? "HTTP \(status)"
    }
}

/// The agent's side of HTTP (Foundation's URLSession): signed requests to the servers it knows.
///
/// Both servers are active (SPEC §7): requests go to the current one; when it cannot be
/// reached or answers 5xx, the next one is tried, and it becomes current.
final class Transport: Sendable {
    let servers: [URL]
    private let current = Mutex(0)
    private let session: URLSession

    init(servers: [URL], timeout: TimeInterval = 60) {
        self.servers = servers
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.httpMaximumConnectionsPerHost = 2
        session = URLSession(configuration: configuration)
    }

    var currentServer: URL { servers[current.withLock { $0 }] }

    /// Sends a request (signed when `identity` is given) to the current server, failing over to
    /// the others. Throws when no server answered; a server's refusal (4xx) is an answer.
    func send(_ method: String, _ path: String, body: [UInt8] = [], contentType: String? = nil,
              identity: NodeIdentity?) async throws(AgentError) -> ServerResponse {
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
                failures.append("\(server.absoluteString): \(error.localizedDescription)")
            }
        }
        current.withLock { $0 = (first + 1) % servers.count }
        throw AgentError("no server answered: " + failures.joined(separator: "; "))
    }

    /// Sends a request to one server.
    func send(_ method: String, _ path: String, body: [UInt8], contentType: String?, identity: NodeIdentity?,
              to server: URL) async throws -> ServerResponse {
        guard let url = URL(string: path, relativeTo: server) else { throw AgentError("bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if !body.isEmpty || method == "POST" { request.httpBody = Data(body) }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let identity {
            for (name, value) in RequestSignature.sign(method: method, path: path, body: body, identity: identity) {
                request.setValue(value, forHTTPHeaderField: name)
            }
        }
        let (data, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        return ServerResponse(server: server, status: http?.statusCode ?? 0, body: data,
                              retryAfter: (http?.value(forHTTPHeaderField: "Retry-After")).flatMap { Int($0) })
    }
}
