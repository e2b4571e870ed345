import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A request the server will not do, and why, in words for the client: thrown by routes and
/// middleware, answered as `{"error": message}` with its status (and `Retry-After` when the
/// client should come back). Everything else a route throws is the server's fault and is
/// answered as a bare 500 (see `ErrorResponses`).
struct ClientError: HTTPResponseError, Equatable {
    var status: HTTPResponse.Status
    var message: String
    /// Seconds after which the request may succeed (503s).
    var retryAfter: Int?

    init(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Self.response(status, message, retryAfter: retryAfter)
    }

    /// `{"error": message}` with `status`.
    static func response(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) -> Response {
        let data = (try? JSONEncoder().encode(["error": message])) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
