public import HTTPClient

/// Why the agent could not do what it was asked, by kind: the daemon retries what a retry can
/// fix (`noServerAnswered`) and stops on the rest. `description` is for people.
public enum AgentError: Error, CustomStringConvertible, Sendable {
    /// No server could be reached, or every one answered 5xx: worth trying again later. One
    /// failure per server tried, `URL: what went wrong`.
    case noServerAnswered([String])
    /// A server answered and said no (4xx): sending the same again will not help.
    case refused(request: String, server: String, message: String)
    /// This node has no credential and no enrollment token was given.
    case notEnrolled(node: String)
    /// A server could not be reached or did not answer in time.
    case transport(server: String, HTTPClientError)
    /// An answer that is not signed by a site key this agent trusts, or not for this request:
    /// logged, and treated as no answer (nothing is run, nothing leaves the journal).
    case unverifiedAnswer(server: String, status: Int, reason: String)
    /// The state directory or its SQLite file cannot be read or written.
    case state(String)
    /// The agent was started with something it cannot use (servers, state directory, configuration).
    case configuration(String)

    public var description: String {
        switch self {
        case .noServerAnswered(let failures): "no server answered: " + failures.joined(separator: "; ")
        case .refused(let request, let server, let message): "\(request) refused by \(server): \(message)"
        case .notEnrolled(let node):
            "node \(node) is not enrolled: give its enrollment token (made by `cimdb node enroll \(node)`) with --token-file FILE or CIMDB_TOKEN"
        case .transport(let server, let error): "\(server): \(error)"
        case .unverifiedAnswer(let server, let status, let reason): "\(server) answered \(status), not accepted: \(reason)"
        case .state(let message), .configuration(let message): message
        }
    }
}
