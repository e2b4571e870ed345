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
    /// The state directory or its SQLite file cannot be read or written.
    case state(String)
    /// The agent was started with something it cannot use (servers, state directory, configuration).
    case configuration(String)

    public var description: String {
        switch self {
        case .noServerAnswered(let failures): "no server answered: " + failures.joined(separator: "; ")
        case .refused(let request, let server, let message): "\(request) refused by \(server): \(message)"
        case .notEnrolled(let node): "node \(node) is not enrolled: give --token (made by `cimdb node enroll \(node)`)"
        case .state(let message), .configuration(let message): message
        }
    }
}
