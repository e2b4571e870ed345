import Glibc

/// Why a request got no complete answer. A response with any status — 404 or 503 included — is
/// an answer, not an error: these are the failures below HTTP semantics.
public enum HTTPClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not an `http://` or `https://host[:port]` URL.
    case invalidURL(String)
    /// A method, target or header this client will not put on the wire (CR or LF in it, …).
    case invalidRequest(String)
    /// The host name did not resolve.
    case resolve(host: String, detail: String)
    /// Every address of the host refused or failed the connection (`errno` of the last one).
    case connect(address: String, errno: Int32)
    /// Nothing happened for longer than the timeout of this phase.
    case timeout(Phase)
    /// The socket failed while sending or receiving.
    case io(Phase, errno: Int32)
    /// The server's bytes are not an HTTP/1.1 response.
    case malformedResponse(String)
    /// The server closed the connection before sending anything.
    case closed
    /// The task waiting for the response was cancelled.
    case cancelled
    /// TLS failed: the handshake, the server's certificate or name, or the CA file.
    case tls(String)

    /// Where in the exchange a timeout or a socket error happened.
    public enum Phase: String, Sendable, Hashable {
        case connect = "connecting"
        case send = "sending the request"
        case firstByte = "waiting for the response"
        case read = "reading the response"
    }

    public var description: String {
        switch self {
        case .invalidURL(let url): "not an http://host[:port] URL: \(url)"
        case .invalidRequest(let detail): "invalid request: \(detail)"
        case .resolve(let host, let detail): "cannot resolve \(host): \(detail)"
        case .connect(let address, let errno): "cannot connect to \(address): \(Self.text(errno))"
        case .timeout(let phase): "timed out \(phase.rawValue)"
        case .io(let phase, let errno): "socket error \(phase.rawValue): \(Self.text(errno))"
        case .malformedResponse(let detail): "malformed response: \(detail)"
        case .closed: "the server closed the connection without answering"
        case .cancelled: "cancelled"
        case .tls(let message): message
        }
    }

    static func text(_ errno: Int32) -> String { String(cString: strerror(errno)) }
}
