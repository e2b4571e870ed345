import CommandSupport
import Dispatch
import Export
import Foundation
import Hummingbird
import Ingest
import Logging
import ModelStore
import NIOCore
import ORM
import Store
import Synchronization

/// The routes for external systems, behind the server's export token (`--export-token`):
/// `POST /v1/subscriptions` / `DELETE /v1/subscriptions/ID` (see `Subscriptions`), and
/// `GET /export?class=C&node=N&associations=true`: the inventory as a CIM-XML document (the same
/// document as `cimdb export`), streamed as it is written — memory stays flat however large the
/// inventory. For external systems: it needs `Authorization: Bearer TOKEN` with the token the
/// server was started with (`--export-token`); without one the route is off.
struct ExternalSystemRoutes: Sendable {
    var configuration: ServerConfiguration
    var pool: ConnectionPool
    var logger: Logger

    /// Chunks written to the response at once, and how many may wait (so a slow reader holds
    /// the export back instead of filling the server's memory).
    static let chunkBytes = 64 << 10
    static let chunksInFlight = 8
    /// Exports under way at once, each on a thread and a connection of its own; more wait for a
    /// 503 with Retry-After (an export of 10,000 nodes keeps a core busy for seconds).
    static let concurrentExports = 2
    let exportsUnderWay = ExportCount()

    /// How many exports run now, shared by every copy of the routes.
    final class ExportCount: Sendable {
        private let count = Mutex(0)
        /// Takes a place when one is free.
        func enter(limit: Int) -> Place? {
            let taken = count.withLock {
                if $0 >= limit { return false }; $0 += 1; return true
            }
            return taken ? Place(self) : nil
        }
        fileprivate func leave() { count.withLock { $0 -= 1 } }

        /// A place taken: given back when the response body that holds it goes away — whether
        /// it was written to the end, cut off by the reader, or never written at all.
        final class Place: Sendable {
            private let count: ExportCount
            fileprivate init(_ count: ExportCount) { self.count = count }
            deinit { count.leave() }
        }
    }

    /// Throws unless the request carries the export token.
    func authorize(_ request: Request) throws(ClientError) {
        guard let token = configuration.exportToken else {
            throw ClientError(.forbidden, "export is off: start the server with --export-token TOKEN")
        }
        guard request.headers[.authorization] == "Bearer \(token)" else {
            throw ClientError(.unauthorized, "export needs Authorization: Bearer TOKEN (the server's --export-token)")
        }
    }

    /// `POST /v1/subscriptions` `{"url", "class", "node"}` → `{"id"}`: the URL receives CIM-XML
    /// indications for every matching change from now on.
    func subscribe(_ request: Request) async throws -> Response {
        try authorize(request)
        var request = request
        let body = try await request.collectBody(upTo: 64 << 10)
        guard let form = try? JSONDecoder().decode([String: String].self, from: Data(body.readableBytesView)), let url = form["url"] else {
            throw ClientError(.badRequest, "expected {\"url\": …, \"class\": …, \"node\": …} as JSON (class and node optional)")
        }
        do {
            let id = try await pool.withConnection { try Subscriptions.add(url: url, className: form["class"], node: form["node"], on: $0) }
            return Routes.json(["id": id])
        } catch let error as SubscriptionError {
            throw ClientError(.badRequest, error.description)
        }
    }

    func unsubscribe(_ request: Request, id: String?) async throws -> Response {
        try authorize(request)
        guard let id = id.flatMap({ Int64($0) }) else { throw ClientError(.badRequest, "expected /v1/subscriptions/ID") }
        let removed = try await pool.withConnection { try Subscriptions.remove(id, on: $0) }
        guard removed else { throw ClientError(.notFound, "no subscription \(id)") }
        return Routes.json(["removed": id])
    }

    func respond(_ request: Request) async throws -> Response {
        try authorize(request)
        let query = request.uri.queryParameters
        let associations = query.get("associations").map { $0 == "true" || $0 == "1" } ?? false
        let requested = CIMXMLExporter.Options(
            className: query.get("class"), node: query.get("node"), associations: associations,
            host: configuration.name)
        // Check the filter before the document starts: an unknown class or node is a 404.
        let exporter: CIMXMLExporter
        do {
            exporter = try await pool.withConnection { connection in
                var options = requested
                options.model = try ModelSourceStore.model(from: connection)
                let exporter = CIMXMLExporter(catalog: try ModelCatalog.load(from: connection), options: options)
                _ = try exporter.classes()
                try exporter.checkNode(on: connection)
                return exporter
            }
        } catch let error as ExportError where error.isRequestError {
            throw ClientError(.notFound, error.description)
        }
        guard let place = exportsUnderWay.enter(limit: Self.concurrentExports) else {
            throw ClientError(.serviceUnavailable, "\(Self.concurrentExports) exports are under way: try again shortly", retryAfter: 5)
        }
        let conninfo = configuration.conninfo
        let logger = logger
        let body = ResponseBody { writer in
            withExtendedLifetime(place) {}  // the body holds the place for as long as it exists
            let (chunks, continuation) = AsyncStream.makeStream(of: [UInt8].self)
            let credits = DispatchSemaphore(value: Self.chunksInFlight)
            let stopped = Mutex(false)
            let finished = Mutex<(any Error)?>(nil)
            // The export runs on a thread of its own with a connection of its own: libpq and the
            // sink's waits for credit block, and neither the cooperative pool nor Dispatch's
            // shared threads may be held for the seconds an export takes; the pool's
            // connections stay free for agents.
            let thread = Thread {
                var pending: [UInt8] = []
                pending.reserveCapacity(Self.chunkBytes)
                func send() -> Bool {
                    credits.wait()
                    if stopped.withLock({ $0 }) { return false }
                    continuation.yield(pending)
                    pending.removeAll(keepingCapacity: true)
                    return true
                }
                let sink = XMLSink { bytes in
                    pending.append(contentsOf: bytes)
                    return pending.count < Self.chunkBytes || send()
                }
                do {
                    let connection = try Connection(conninfo)
                    defer { connection.close() }
                    let summary = try exporter.export(to: sink, on: connection)
                    if !pending.isEmpty { _ = send() }
                    logger.info("export: \(summary.instances) instances (\(summary.associations) associations) streamed")
                } catch {
                    finished.withLock { $0 = error }
                }
                continuation.finish()
            }
            thread.name = "cimdb.server.export"
            thread.start()
            var failure: (any Error)?
            do {
                for await chunk in chunks {
                    try await writer.write(ByteBuffer(bytes: chunk))
                    credits.signal()
                }
            } catch {
                failure = error
            }
            if let failure {
                // The reader went away: let the export stop at its next chunk.
                stopped.withLock { $0 = true }
                credits.signal()
                for await _ in chunks { credits.signal() }
                throw failure
            }
            if let error = finished.withLock({ $0 }) {
                // Ends the response without its last chunk: the reader sees an incomplete document.
                logger.error("export failed after the document started: \(detailed: error)")
                throw error
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/xml; charset=utf-8"], body: body)
    }
}
