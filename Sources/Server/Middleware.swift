import AgentProtocol
import CommandSupport
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SQLCore

/// The request context: Hummingbird's core context (with the request id, `context.id`), the
/// peer's address (for the log of refused requests), and the node that signed the request
/// once `SignedRequests` checked it.
struct ServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: String?
    /// Set by `SignedRequests` on the routes behind it.
    var node: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" }
    }

    /// The signing node; only routes behind `SignedRequests` ask.
    func signer() throws -> String {
        guard let node else { throw ServerFault.unsignedRoute }
        return node
    }
}

/// Faults of the server itself (answered 500).
enum ServerFault: Error {
    /// A route that needs a signed request is not behind `SignedRequests`.
    case unsignedRoute
}

/// Turns what routes throw into answers: a `ClientError` (or Hummingbird's `HTTPError`) as
/// `{"error": …}` with its status; a body over the limit as 413; a database that does not
/// answer as 503 with Retry-After; anything else as a bare 500 that names the request id, with
/// the error and its details in the log under the same id — never database text to the client.
struct ErrorResponses: RouterMiddleware {
    typealias Context = ServerContext
    var maximumBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ClientError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            return ClientError.response(error.status, error.body ?? error.status.reasonPhrase)
        } catch let error as NIOTooManyBytesError {
            return ClientError.response(
                .contentTooLarge, "the request body is over this server's limit (\(error.maxBytes ?? maximumBodyBytes) bytes)")
        } catch let error as PostgresError where error.kind == .connection {
            context.logger.error("request \(context.id) \(request.method) \(request.uri.path): the database does not answer: \(detailed: error)")
            return ClientError.response(.serviceUnavailable, "the database does not answer", retryAfter: 5)
        } catch {
            context.logger.error("request \(context.id) \(request.method) \(request.uri.path) failed: \(detailed: error)")
            return ClientError.response(.internalServerError, "internal error (request \(context.id); see the server's log)")
        }
    }
}

/// Counts requests by route and status, and times them (`cimdb_server_requests_total`,
/// `cimdb_server_request_duration_seconds`). The route is the matched path's first segment
/// after `/v1`: `results`, `scripts`, `export`.
struct RouteMetrics: RouterMiddleware {
    typealias Context = ServerContext
    var metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.request(route: Self.route(context.endpointPath), status: response.status.code, duration: .now - start)
            return response
        } catch {
            // Past `ErrorResponses` only what Hummingbird answers itself (an unknown route).
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.request(route: Self.route(context.endpointPath), status: status, duration: .now - start)
            throw error
        }
    }

    static func route(_ endpoint: String?) -> String {
        guard let endpoint, endpoint != "NotFound" else { return "unknown" }
        let segments = endpoint.split(separator: "/").filter { $0 != "v1" }
        return segments.first.map(String.init) ?? "root"
    }
}

/// Checks the signature of the requests to the routes behind it (SPEC §7: Ed25519 over the
/// method, path, node, time, nonce and body; nonces used once) and sets `context.node`. A
/// refusal is a 401 with the reason; refusals are counted and recorded by `Credentials`.
struct SignedRequests: RouterMiddleware {
    typealias Context = ServerContext
    var authenticator: any RequestAuthenticator
    var maximumBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        // Collected here, the body is still the request's for the route.
        let body = try await request.collectBody(upTo: maximumBodyBytes)
        let headers = request.headers
        let outcome = try await authenticator.authenticate(
            method: request.method.rawValue, path: request.head.path ?? "/", body: [UInt8](body.readableBytesView), remote: context.remoteAddress
        ) { name in HTTPField.Name(name).flatMap { headers[$0] } }
        switch outcome {
        case .success(let node):
            var context = context
            context.node = node
            return try await next(request, context)
        case .failure(let refusal):
            throw ClientError(.unauthorized, refusal.description)
        }
    }
}

/// Who signed a request, or why it is refused. `Credentials` (keys in the database).
protocol RequestAuthenticator: Sendable {
    func authenticate(
        method: String, path: String, body: [UInt8], remote: String?,
        header: (String) -> String?
    ) async throws -> Result<String, SignatureError>
}
