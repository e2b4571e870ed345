import Dispatch
import Synchronization

/// A small HTTP/1.1 client for `http://` and `https://` (TLS.swift): the agent's way to its servers.
///
/// Written here rather than taken from a library because none of those available does HTTP
/// without Foundation's URLSession, and URLSession on Linux is FoundationNetworking over libcurl,
/// which brings GnuTLS and OpenSSL: mapped code that makes most of an agent's resident size
/// (PLATFORM.md, "Resident size") and a static build impossible. The agent needs one request
/// at a time, TLS only where the network is not trusted (requests and answers are signed in any
/// case, AgentProtocol), and no redirects.
///
/// Each request runs on its own connection with blocking POSIX calls (getaddrinfo, connect,
/// send, recv under poll timeouts) on a Dispatch queue of its own; the calling task waits on a
/// continuation, so nothing blocks Swift's cooperative pool (two threads on these machines).
/// Serial queues run on Dispatch's overcommitting threads: a request stuck on a dead server
/// does not hold up another one to the other server.
public struct HTTPClient: Sendable {
    /// The longest wait for a connection to be accepted.
    public var connectTimeout: Duration
    /// The longest wait for the first byte of a response, and between two reads or writes.
    public var timeout: Duration
    /// A larger response body fails as malformed.
    public var maximumBodyBytes: Int
    /// How `https://` servers are verified (TLS.swift); nil: `https://` fails.
    public var tls: TLSContext?

    public init(connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(60), maximumBodyBytes: Int = 256 << 20, tls: TLSContext? = nil)
    {
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maximumBodyBytes = maximumBodyBytes
        self.tls = tls
    }

    /// Sends `request` to `endpoint` and returns its response, whatever the status. Cancelling
    /// the task ends the exchange within about 100 ms (`.cancelled`).
    public func send(_ request: HTTPRequest, to endpoint: HTTPEndpoint) async throws(HTTPClientError) -> HTTPResponse {
        let exchange = Exchange(endpoint: endpoint, connectTimeout: connectTimeout, timeout: timeout, maximumBodyBytes: maximumBodyBytes, tls: tls)
        let cancelled = CancellationFlag()
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<HTTPResponse, HTTPClientError>, Never>) in
                DispatchQueue(label: "cimdb.http").async {
                    var exchange = exchange
                    exchange.isCancelled = { cancelled.isSet }
                    continuation.resume(returning: Result { () throws(HTTPClientError) -> HTTPResponse in try exchange.run(request) })
                }
            }
        } onCancel: {
            cancelled.set()
        }
        return try result.get()
    }

    /// Sends `request` to the host and port of an `http://` URL.
    public func send(_ request: HTTPRequest, to url: String) async throws(HTTPClientError) -> HTTPResponse {
        try await send(request, to: try HTTPEndpoint(url: url))
    }
}

/// Set once by a task's cancellation handler, read by the exchange's thread.
final class CancellationFlag: Sendable {
    private let value = Atomic(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
