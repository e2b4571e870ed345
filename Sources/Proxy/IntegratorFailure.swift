/// Why an integrator call failed, as the seed's C API tells it: bad parameters (−1) or the
/// infrastructure (−2: the database, a full queue, no answer). The same on every way in — the
/// database calls (`ProxyQueries`), the HTTP API, its Swift client (`ProxyClient`).
public enum IntegratorFailure: Error, CustomStringConvertible, Sendable, Hashable {
    /// −1: the parameters (an unknown handle, a bad precedence, a message over the size limit …).
    case parameters(String)
    /// −1 too, but worth telling apart: in session mode, the upstream has not acknowledged
    /// this integrator's registration yet.
    case notAcknowledged(String)
    /// −2: the proxy's infrastructure (no database, a full queue, no answer).
    case infrastructure(String)

    public var description: String {
        switch self {
        case .parameters(let text), .notAcknowledged(let text), .infrastructure(let text): text
        }
    }

    /// The seed's return value.
    public var code: Int32 {
        switch self {
        case .parameters, .notAcknowledged: -1
        case .infrastructure: -2
        }
    }
}
