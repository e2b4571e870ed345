import AgentProtocol
import CommandSupport
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
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
/// `{"error": …}` with its status; a body over the limit as 413; a body that is not valid HTTP
/// (broken chunked framing) as 400; a database that does not answer as 503 with Retry-After;
/// anything else as a bare 500 that names the request id, with the error and its details in
/// the log under the same id — never database text to the client. Refusals of malformed and
/// oversized requests (400, 413) are logged and recorded in `cimdb.refused_request` (those for
/// credentials, 401 and 403, are recorded where they are decided, in `Credentials`).
struct ErrorResponses: RouterMiddleware {
    typealias Context = ServerContext
    var maximumBodyBytes: Int
    var refusals: (any RefusalRecorder)?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return await answer(error, to: request, context: context)
        }
    }

    func answer(_ error: any Error, to request: Request, context: Context) async -> Response {
        let response: Response
        switch error {
        case let error as ClientError:
            response = ClientError.response(error.status, error.message, retryAfter: error.retryAfter)
        case let error as HTTPError:
            response = ClientError.response(error.status, error.body ?? error.status.reasonPhrase)
        case let error as NIOTooManyBytesError:
            response = ClientError.response(
                .contentTooLarge, "the request body is over this server's limit (\(error.maxBytes ?? maximumBodyBytes) bytes)")
        case let error as HTTPParserError:
            response = ClientError.response(.badRequest, "the request is not valid HTTP: \(error)")
        case let error as PostgresError where error.kind == .connection:
            context.logger.error("request \(context.id) \(request.method) \(request.uri.path): the database does not answer: \(detailed: error)")
            return ClientError.response(.serviceUnavailable, "the database does not answer", retryAfter: 5)
        default:
            context.logger.error("request \(context.id) \(request.method) \(request.uri.path) failed: \(detailed: error)")
            return ClientError.response(.internalServerError, "internal error (request \(context.id); see the server's log)")
        }
        if response.status == .badRequest || response.status == .contentTooLarge, let refusals {
            let reason = (error as? ClientError)?.message ?? "\(error)"
            do {
                try await refusals.record(
                    status: response.status.code, reason: reason, label: response.status == .badRequest ? "malformed" : "too_large",
                    node: request.headers[values: HTTPField.Name(RequestSignature.nodeHeader)!].first, method: request.method.rawValue,
                    path: request.uri.path, remote: context.remoteAddress)
            } catch {
                context.logger.error("request \(context.id): the refusal was not recorded: \(detailed: error)")
            }
        }
        return response
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
/// method, path, node, time, nonce and the body's SHA-256; nonces used once) and sets
/// `context.node`. The signature is checked before the body is read: the body's hash is a
/// signed header, and the body read afterwards must have it. A refusal is a 401 with the
/// reason; refusals are counted and recorded by `Credentials`.
struct SignedRequests: RouterMiddleware {
    typealias Context = ServerContext
    var authenticator: any RequestAuthenticator
    var maximumBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let headers = request.headers
        let method = request.method.rawValue, path = request.head.path ?? "/"
        let outcome = try await authenticator.authenticate(method: method, path: path, remote: context.remoteAddress) { name in
            HTTPField.Name(name).flatMap { headers[$0] }
        }
        switch outcome {
        case .success(let claim):
            var request = request
            // Collected here (signed, so worth reading), the body is still the request's for the route.
            let body = try await request.collectBody(upTo: maximumBodyBytes)
            guard claim.matches(body: body.readableBytesView) else {
                try await authenticator.recordRefusal(.bodyMismatch, node: claim.node, method: method, path: path, remote: context.remoteAddress)
                throw ClientError(.unauthorized, SignatureError.bodyMismatch.description)
            }
            var context = context
            context.node = claim.node
            return try await next(request, context)
        case .failure(let refusal):
            throw ClientError(.unauthorized, refusal.description)
        }
    }
}

/// Who signed a request (the claim, checked), or why it is refused. `Credentials` (keys in
/// the database).
protocol RequestAuthenticator: Sendable {
    func authenticate(
        method: String, path: String, remote: String?, header: (String) -> String?
    ) async throws -> Result<RequestSignature.Claim, SignatureError>
    /// Records a refusal decided after `authenticate` (the body did not have the signed hash).
    func recordRefusal(_ error: SignatureError, node: String?, method: String, path: String, remote: String?) async throws
}

/// Where refused requests are recorded (`cimdb.refused_request`, the log, the metrics).
protocol RefusalRecorder: Sendable {
    func record(status: Int, reason: String, label: String, node: String?, method: String, path: String, remote: String?) async throws
}

/// Signs every answer on the agents' routes with the site key, bound to the request it
/// answers (its node and nonce; issue "Trust and durability"): what the routes return, and
/// what they throw, answered here so that refusals are signed too. An agent acts on no answer
/// it cannot verify. The answers on these routes are small (JSON, a script): collected to be
/// hashed.
struct SignedResponses: RouterMiddleware {
    typealias Context = ServerContext
    var keys: SiteKeys
    var errors: ErrorResponses

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = await errors.answer(error, to: request, context: context)
        }
        let collector = BodyCollector()
        try await response.body.write(collector)
        let body = [UInt8](collector.buffer.readableBytesView)
        let signing = try await keys.signing()
        let headers = request.headers
        func header(_ name: String) -> String { HTTPField.Name(name).flatMap { headers[$0] } ?? "" }
        for (name, value) in ResponseSignature.sign(
            status: Int(response.status.code), method: request.method.rawValue, path: request.head.path ?? "/",
            node: header(RequestSignature.nodeHeader), nonce: header(RequestSignature.nonceHeader), body: body,
            key: signing.current, next: signing.next)
        {
            response.headers[HTTPField.Name(name)!] = value
        }
        response.body = .init(byteBuffer: collector.buffer)
        return response
    }
}

/// Gathers a response body written to it.
private final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
    // @unchecked: written by the one task that writes the body, read after it finished.
    var buffer = ByteBuffer()

    func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        self.buffer.writeBuffer(&buffer)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
