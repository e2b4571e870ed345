import Foundation
import Hummingbird
public import Logging
import NIOCore
import Proxy
import SQLCore
import Store

/// `cimdb upstream`: the service site proxies forward to (SPEC §8, docs/proxy-protocol.md).
/// It records every event, alarm and data message once per remote services id, acknowledges
/// registrations in its answers, keeps support instances (inactive when deregistered, with an
/// audit record) and drops data from integrators that never registered (recorded in
/// `upstream.dropped`). A 200 means the batch is committed durably (`synchronous_commit` on
/// for its connections, whatever the database's default).
///
/// | Route | What |
/// |---|---|
/// | `POST /v1/messages` | a batch from a proxy; the answer lists the messages whose life ends |
/// | `GET /health` | 200 when the database answers |
public struct UpstreamServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var conninfo: String
        /// Required as `Authorization: Bearer …` when set.
        public var token: String?
        public var connections: Int
        public var maximumBodyBytes: Int

        public init(host: String, port: Int, conninfo: String, token: String?, connections: Int = 4, maximumBodyBytes: Int = 64 << 20) {
            self.host = host
            self.port = port
            self.conninfo = conninfo
            self.token = token
            self.connections = connections
            self.maximumBodyBytes = maximumBodyBytes
        }
    }

    public var configuration: Configuration
    public var logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Installs the schema, then serves until SIGINT/SIGTERM. `onListening` gets the bound port.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let pool = ConnectionPool(
            conninfo: configuration.conninfo, size: configuration.connections,
            // synchronous_commit on: a 200 lets the proxy delete what it names, so the commit
            // must be on disk first, whatever the database's default (the embedded cluster's is off).
            settings: [(name: "idle_in_transaction_session_timeout", value: "10s"), (name: "synchronous_commit", value: "on")])
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try c.transaction { c in
                _ = try c.execute("SET LOCAL client_min_messages = warning")
                _ = try c.execute("SELECT pg_advisory_xact_lock(\(UpstreamSchema.lock))")
                try c.executeScript(.verbatim(UpstreamSchema.sql))
            }
        }
        let router = Router()
        let configuration = self.configuration
        let logger = self.logger
        router.post(.init(ProxyWire.messagesPath)) { request, _ -> Response in
            if let token = configuration.token, request.headers[.authorization] != "Bearer \(token)" {
                return Self.json(.unauthorized, ["error": "this upstream needs Authorization: Bearer TOKEN"])
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: configuration.maximumBodyBytes)
            } catch {
                return Self.json(.contentTooLarge, ["error": "a batch is at most \(configuration.maximumBodyBytes) bytes"])
            }
            let batch: ProxyWire.Batch
            do {
                batch = try JSONDecoder().decode(ProxyWire.Batch.self, from: Data(body.readableBytesView))
            } catch {
                return Self.json(.badRequest, ["error": "not a batch of messages: \(error)"])
            }
            do {
                let answer = try await pool.withConnection { c in try BatchRecorder.record(batch, on: c) }
                for dropped in answer.dropped { logger.warning("upstream: dropped \(dropped.id) from proxy \(batch.proxy): \(dropped.reason)") }
                let data = try JSONEncoder().encode(answer)
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
            } catch let error as BatchRecorder.Invalid {
                return Self.json(.badRequest, ["error": error.description])
            } catch {
                logger.error("upstream: a batch from proxy \(batch.proxy) failed: \(error)")
                return Self.json(.serviceUnavailable, ["error": "the batch was not recorded: \(error)"])
            }
        }
        router.post(.init(ProxyWire.bulkPath)) { request, _ -> Response in
            if let token = configuration.token, request.headers[.authorization] != "Bearer \(token)" {
                return Self.json(.unauthorized, ["error": "this upstream needs Authorization: Bearer TOKEN"])
            }
            guard let body = try? await request.body.collect(upTo: 1 << 20),
                let ask = try? JSONDecoder().decode(ProxyWire.BulkRequest.self, from: Data(body.readableBytesView)),
                UUID(uuidString: ask.id) != nil, UUID(uuidString: ask.proxy) != nil
            else { return Self.json(.badRequest, ["error": "not a bulk transfer request"]) }
            do {
                let answer = try await pool.withConnection { c in try BulkPolicy.answer(ask, on: c) }
                return Self.encoded(.ok, answer)
            } catch {
                return Self.json(.serviceUnavailable, ["error": "the request was not recorded: \(error)"])
            }
        }
        router.post(.init(ProxyWire.bulkPath + "/:id")) { request, context -> Response in
            if let token = configuration.token, request.headers[.authorization] != "Bearer \(token)" {
                return Self.json(.unauthorized, ["error": "this upstream needs Authorization: Bearer TOKEN"])
            }
            let id = context.parameters.get("id") ?? ""
            guard let body = try? await request.body.collect(upTo: configuration.maximumBodyBytes),
                let batch = try? JSONDecoder().decode(ProxyWire.Batch.self, from: Data(body.readableBytesView)),
                batch.messages.count == 1, batch.messages[0].id.lowercased() == id.lowercased()
            else {
                return Self.encoded(
                    .badRequest, ProxyWire.BulkAnswer(status: "rejected", reason: "not a transfer of message \(id)", code: "malformed"))
            }
            do {
                let answer = try await pool.withConnection { c -> ProxyWire.Answer? in
                    guard try BulkPolicy.wasAccepted(id, on: c) else { return nil }
                    return try BatchRecorder.record(batch, deliverRequests: false, on: c)
                }
                guard let answer else {
                    return Self.encoded(
                        .conflict,
                        ProxyWire.BulkAnswer(status: "rejected", reason: "message \(id) was not accepted for transfer", code: "not-negotiated"))
                }
                return Self.encoded(.ok, answer)
            } catch {
                return Self.json(.serviceUnavailable, ["error": "the transfer was not recorded: \(error)"])
            }
        }
        router.get("/health") { _, _ -> Response in
            do {
                _ = try await pool.withConnection { try $0.execute("SELECT 1") }
                return Self.json(.ok, ["status": "ok"])
            } catch {
                return Self.json(.serviceUnavailable, ["error": "the database does not answer"])
            }
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "cimdb-upstream"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) }, logger: logger)
        // Permanent removals whose grace period has passed (upstream.request_removal).
        let removals = Task {
            while !Task.isCancelled {
                do {
                    let removed = try await pool.withConnection { try $0.execute("SELECT upstream.remove_due() AS n").first?.int("n") ?? 0 }
                    if removed > 0 { logger.notice("upstream: \(removed) support instance(s) removed permanently, with their data") }
                } catch {
                    logger.warning("upstream: removing support instances due: \(error)")
                }
                try? await Task.sleep(for: .seconds(2))
            }
        }
        defer { removals.cancel() }
        try await app.runService()
    }

    static func encoded(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: String]) -> Response {
        let data = (try? JSONEncoder().encode(object)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// One batch, one transaction: control messages in order (registrations, deregistrations,
/// heartbeats), then every event, alarm and data message from a registered integrator, once per
/// id. Pure SQL on the connection given.
enum BatchRecorder {
    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    static let dataKinds: Set<String> = ["event", "alarm", "data"]

    /// Back-channel requests this proxy carries to its site (upstream.request_route): the new
    /// ones, and those sent more than 10 s ago that the proxy has not reported on yet (the
    /// answer carrying them may have been lost). At most 100 per answer, oldest first.
    static func requestsFor(_ batch: ProxyWire.Batch, on c: Connection) throws -> [ProxyWire.Request] {
        try c.execute(
            """
            WITH due AS (
                SELECT r.id FROM upstream.request r
                WHERE r.site = \(batch.site) AND (r.status = 'queued' OR (r.status = 'sent' AND r.sent_at < now() - interval '10 seconds'))
                  AND EXISTS (SELECT 1 FROM upstream.proxy p WHERE p.id = \(batch.proxy)::uuid)
                  AND upstream.request_route(r.site, r.destination) = \(batch.proxy)::uuid
                ORDER BY r.created_at LIMIT 100 FOR UPDATE SKIP LOCKED
            )
            UPDATE upstream.request r SET status = 'sent', proxy = \(batch.proxy)::uuid, sent_at = now(), sends = sends + 1, status_at = now()
            FROM due WHERE r.id = due.id
            RETURNING r.id::text AS id, r.destination, r.kind, r.body, r.created_at
            """
        )
        .sorted { ($0["created_at"] ?? "", $0["id"] ?? "") < ($1["created_at"] ?? "", $1["id"] ?? "") }
        .map { ProxyWire.Request(id: $0["id"] ?? "", destination: $0["destination"] ?? "", kind: $0["kind"] ?? "", body: $0["body"]) }
    }

    /// Records a batch; with `deliverRequests`, its answer carries the back channel's requests
    /// for this proxy (not on a bulk transfer's: the bulk sender does not read them).
    static func record(_ batch: ProxyWire.Batch, deliverRequests: Bool = true, on c: Connection) throws -> ProxyWire.Answer {
        guard UUID(uuidString: batch.proxy) != nil else { throw Invalid(description: "proxy \(batch.proxy) is not a uuid") }
        for message in batch.messages {
            guard UUID(uuidString: message.id) != nil else { throw Invalid(description: "message id \(message.id) is not a uuid") }
            guard message.integrator.map({ UUID(uuidString: $0) != nil }) ?? true else {
                throw Invalid(description: "message \(message.id): integrator \(message.integrator ?? "") is not a uuid")
            }
            guard (try? JSONSerialization.jsonObject(with: Data(message.body.utf8))) != nil else {
                throw Invalid(description: "message \(message.id): its body is not JSON")
            }
        }
        return try c.transaction { c in
            var acknowledgedProxy = false
            var acknowledgedIntegrators: [String] = []
            _ = try c.execute("UPDATE upstream.proxy SET last_heard_at = now() WHERE id = \(batch.proxy)::uuid")
            // The proxy's own registration first: the others name it.
            let controls =
                batch.messages.filter { $0.kind == "register-proxy" }
                + batch.messages.filter { $0.kind != "register-proxy" && !dataKinds.contains($0.kind) }
            for message in controls {
                switch message.kind {
                case "register-proxy":
                    _ = try c.execute(
                        """
                        INSERT INTO upstream.proxy (id, site, mode) VALUES (\(batch.proxy)::uuid, \(batch.site), \(batch.mode))
                        ON CONFLICT (id) DO UPDATE SET site = excluded.site, mode = excluded.mode, last_heard_at = now()
                        """)
                    acknowledgedProxy = true
                case "register-integrator":
                    let known = try c.execute("SELECT 1 FROM upstream.proxy WHERE id = \(batch.proxy)::uuid").count > 0
                    guard known, let integrator = message.integrator else { continue }
                    _ = try c.execute(
                        """
                        INSERT INTO upstream.integrator (id, proxy, name, version)
                        SELECT \(integrator)::uuid, \(batch.proxy)::uuid, b->>'name', b->>'version' FROM (SELECT \(message.body)::jsonb AS b) x
                        ON CONFLICT (id) DO NOTHING
                        """)
                    acknowledgedIntegrators.append(integrator)
                case "register-instances":
                    guard let integrator = message.integrator else { continue }
                    _ = try c.execute(
                        """
                        WITH given AS (
                            SELECT i->>'instance' AS external_id, i->>'capabilities' AS capabilities
                            FROM jsonb_array_elements(\(message.body)::jsonb -> 'instances') AS i
                        ), saved AS (
                            INSERT INTO upstream.support_instance AS s (integrator, external_id, proxy, site, capabilities)
                            SELECT \(integrator)::uuid, external_id, \(batch.proxy)::uuid, \(batch.site), capabilities FROM given
                            ON CONFLICT (site, external_id) DO UPDATE
                                SET capabilities = excluded.capabilities, active = true, deregistered_at = NULL
                                WHERE NOT s.active OR s.capabilities IS DISTINCT FROM excluded.capabilities
                            RETURNING external_id
                        )
                        INSERT INTO upstream.audit (what, proxy, integrator, external_id)
                        SELECT 'registered', \(batch.proxy)::uuid, \(integrator)::uuid, external_id FROM saved
                        """)
                case "deregister-instance":
                    guard let integrator = message.integrator, let instance = message.instance else { continue }
                    let changed = try c.execute(
                        """
                        UPDATE upstream.support_instance SET active = false, deregistered_at = now()
                        WHERE site = \(batch.site) AND external_id = \(instance) AND active
                        """
                    ).affectedRows
                    if changed > 0 {
                        _ = try c.execute(
                            """
                            INSERT INTO upstream.audit (what, proxy, integrator, external_id, detail)
                            VALUES ('marked inactive', \(batch.proxy)::uuid, \(integrator)::uuid, \(instance), 'deregistered by its integrator')
                            """)
                    }
                case "request-status":
                    // What became of a back-channel request; a status never goes back (a late
                    // report after a later one changes nothing).
                    _ = try c.execute(
                        """
                        UPDATE upstream.request r
                        SET status = b->>'status', status_at = now(), detail = b->>'detail', answer = coalesce(nullif(b->'answer', 'null'), r.answer)
                        FROM (SELECT \(message.body)::jsonb AS b) x
                        WHERE r.id::text = lower(b->>'request') AND upstream.request_rank(r.status) < upstream.request_rank(b->>'status')
                        """)
                case "heartbeat":
                    _ = try c.execute(
                        "UPDATE upstream.proxy SET last_heartbeat_at = now(), last_status = \(message.body)::jsonb WHERE id = \(batch.proxy)::uuid")
                default:
                    break
                }
            }
            let data = batch.messages.filter { dataKinds.contains($0.kind) }
            var dropped: [ProxyWire.Dropped] = []
            var duplicates = 0
            if !data.isEmpty {
                let integrators = Array(Set(data.compactMap(\.integrator)))
                let registered = Set(
                    try c.execute("SELECT id::text AS id FROM upstream.integrator WHERE id = ANY(\(integrators)::uuid[])").compactMap { $0["id"] })
                var accepted: [ProxyWire.Message] = []
                for message in data {
                    if let integrator = message.integrator, registered.contains(integrator.lowercased()) {
                        accepted.append(message)
                    } else {
                        dropped.append(.init(id: message.id, reason: "integrator \(message.integrator ?? "none") is not registered"))
                    }
                }
                if !dropped.isEmpty {
                    let byID = Dictionary(data.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                    _ = try c.execute(
                        """
                        INSERT INTO upstream.dropped (message_id, proxy, integrator, kind, reason)
                        SELECT d.id, \(batch.proxy)::uuid, d.integrator, d.kind, d.reason
                        FROM unnest(\(dropped.map(\.id))::uuid[], \(dropped.map { byID[$0.id]?.integrator })::uuid[],
                                    \(dropped.map { byID[$0.id]?.kind ?? "" }), \(dropped.map(\.reason))) AS d(id, integrator, kind, reason)
                        """)
                }
                if !accepted.isEmpty {
                    let encoder = JSONEncoder()
                    let headers = try accepted.map { String(decoding: try encoder.encode($0.header), as: UTF8.self) }
                    let inserted = try c.execute(
                        """
                        INSERT INTO upstream.message (message_id, proxy, site, integrator, support_instance, kind, event_id, precedence,
                                                      queued_at, header, body)
                        SELECT m.id, \(batch.proxy)::uuid, \(batch.site), m.integrator, m.instance, m.kind, m.event_id, m.precedence,
                               m.queued_at, m.header, m.body
                        FROM unnest(\(accepted.map(\.id))::uuid[], \(accepted.map(\.integrator))::uuid[], \(accepted.map(\.instance)),
                                    \(accepted.map(\.kind)), \(accepted.map(\.eventID)), \(accepted.map(\.precedence.rawValue)),
                                    \(accepted.map(\.queuedAt))::timestamptz[], \(headers)::jsonb[], \(accepted.map(\.body))::jsonb[])
                             WITH ORDINALITY AS m(id, integrator, instance, kind, event_id, precedence, queued_at, header, body, n)
                        ORDER BY m.n
                        ON CONFLICT DO NOTHING
                        """
                    ).affectedRows
                    duplicates = accepted.count - inserted
                    // Data answering a back-channel request (its body's request_id).
                    _ = try c.execute(
                        """
                        UPDATE upstream.request r SET status = 'answered', status_at = now(), answer_message = m.message_id,
                            detail = 'answered by its integrator'
                        FROM upstream.message m
                        WHERE m.message_id = ANY(\(accepted.filter { $0.kind == "data" }.map(\.id))::uuid[])
                          AND r.id::text = lower(m.body->>'request_id') AND upstream.request_rank(r.status) < 4
                        """)
                }
            }
            let requests = deliverRequests && batch.mode == "session" ? try requestsFor(batch, on: c) : []
            return ProxyWire.Answer(
                done: batch.messages.map(\.id), duplicates: duplicates, dropped: dropped, acknowledgedProxy: acknowledgedProxy,
                acknowledgedIntegrators: acknowledgedIntegrators, requests: requests)
        }
    }
}

/// Answers bulk transfer requests from `upstream.bulk_policy`, recording each.
enum BulkPolicy {
    static func answer(_ ask: ProxyWire.BulkRequest, on c: Connection) throws -> ProxyWire.BulkAnswer {
        let policy = try c.execute("SELECT accepting, defer_reason, max_bytes FROM upstream.bulk_policy").first
        let answer: ProxyWire.BulkAnswer
        if policy?.bool("accepting") == false {
            answer = .init(status: "deferred", reason: policy?["defer_reason"] ?? "busy")
        } else if let max = policy?.int64("max_bytes"), Int64(ask.bytes) > max {
            answer = .init(status: "rejected", reason: "\(ask.bytes) bytes; this upstream takes at most \(max)", code: "too-large")
        } else {
            answer = .init(status: "okay", url: "\(ProxyWire.bulkPath)/\(ask.id)")
        }
        _ = try c.execute(
            """
            INSERT INTO upstream.bulk_request (message_id, proxy, type, bytes, status, detail)
            VALUES (\(ask.id)::uuid, \(ask.proxy)::uuid, \(ask.type), \(Int64(ask.bytes)), \(answer.status), \(answer.reason ?? answer.code))
            """)
        return answer
    }

    static func wasAccepted(_ id: String, on c: Connection) throws -> Bool {
        try c.execute("SELECT count(*) AS n FROM upstream.bulk_request WHERE message_id = \(id)::uuid AND status = 'okay'").first?.int("n") ?? 0 > 0
    }
}
