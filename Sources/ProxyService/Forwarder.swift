import Foundation
import HTTPClient
public import Logging
import Proxy
import SQLCore
import Store
import Synchronization

/// `cimdb proxy run`'s loop: forwards the queue to the upstream in batches, highest precedence
/// first and FIFO within one, and ends each message's life on the upstream's acknowledgement
/// (at least once from here; the upstream records each id once). Also registers the proxy,
/// queues the heartbeat, and applies the throttle. Everything it knows is in the database: it
/// can be killed at any point and restarted, and several can run (one forwards, the others
/// stand by on an advisory lock, so the order holds).
public struct Forwarder: Sendable {
    public struct Configuration: Sendable {
        /// The upstream's base URL (`http://host:port`).
        public var upstream: String
        public var conninfo: String
        /// The site's name, sent with every batch (redundant proxies of one site give the same).
        public var site: String
        /// Sent as `Authorization: Bearer …` when set (read from a file, never an argument).
        public var token: String?
        /// Messages per batch at most.
        public var batchSize: Int
        /// Bytes per batch at most (a single larger message goes alone).
        public var batchBytes: Int

        public init(upstream: String, conninfo: String, site: String, token: String?, batchSize: Int = 200, batchBytes: Int = 4 << 20) {
            self.upstream = upstream
            self.conninfo = conninfo
            self.site = site
            self.token = token
            self.batchSize = batchSize
            self.batchBytes = batchBytes
        }
    }

    static let forwarderLock: Int64 = 7_163_376_960_224_458_359

    public var configuration: Configuration
    public var logger: Logger
    var client = HTTPClient(connectTimeout: .seconds(5), timeout: .seconds(30))
    let forwarding = ForwardingFlag()

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Forwards until the task is cancelled.
    public func run() async {
        let database = DedicatedConnection(conninfo: configuration.conninfo, label: "cimdb.proxy.forward")
        let wakeups = Wakeups(conninfo: configuration.conninfo, logger: logger)
        let listening = Task { await wakeups.listen() }
        defer { listening.cancel() }
        let bulk = Task { await BulkSender(configuration: configuration, logger: logger, forwarding: forwarding).run() }
        defer { bulk.cancel() }
        var state = LoopState()
        while !Task.isCancelled {
            do {
                let pause = try await step(database: database, state: &state)
                if let pause { await wakeups.wait(upTo: pause) }
            } catch is CancellationError {
                break
            } catch {
                state.failures += 1
                let delay = min(0.2 * pow(2, Double(min(state.failures, 8))), 10)
                if state.failures == 1 || state.failures % 20 == 0 {
                    logger.warning("proxy: forwarding failed (\(state.failures) time(s)), retrying in \(Int(delay * 1000)) ms: \(error)")
                }
                if state.failures == 1 { try? await database.run { try Self.log($0, "forwarding failed", "\(error)") } }
                await wakeups.wait(upTo: delay)
            }
        }
        listening.cancel()
        bulk.cancel()
        await bulk.value
        await wakeups.close()
        await database.close()
    }

    struct LoopState {
        var failures = 0
        var lockedBackend: Int32?
        var lastHeartbeat: ContinuousClock.Instant?
        var heartbeats = 0
        var standingBy = false
        var lastExpiry: ContinuousClock.Instant?
    }

    /// One round: nil when it sent something (go on at once), else how long to wait (seconds)
    /// unless woken.
    func step(database: DedicatedConnection, state: inout LoopState) async throws -> Double? {
        // One forwarder per queue: a session lock, taken again if the connection was replaced
        // (the settings' query says which backend answers).
        var read = try await database.run { try Settings.read($0) }
        if state.lockedBackend != read.backend {
            let got = try await database.run {
                try $0.execute("SELECT pg_try_advisory_lock(\(Self.forwarderLock)) AS got").first?.bool("got") ?? false
            }
            guard got else {
                if !state.standingBy { logger.info("proxy: another proxy forwards this queue; standing by") }
                state.standingBy = true
                state.lockedBackend = nil
                forwarding.set(false)
                return 2
            }
            if state.standingBy { logger.info("proxy: forwarding (the other proxy stopped)") }
            state.standingBy = false
            state.lockedBackend = read.backend
            forwarding.set(true)
            read = try await database.run { try Settings.read($0) }
        }
        let settings = read
        if state.failures > 0 {
            logger.info("proxy: forwarding again (the upstream and the database answer)")
            try await database.run { try Self.log($0, "forwarding resumed", nil) }
            state.failures = 0
        }
        try await housekeeping(settings, database: database, state: &state)
        if settings.stopped { return 5 }
        var budget = settings.budget
        if budget.messages <= 0 || budget.bytes <= 0 { return max(0.05, settings.windowLeft) }
        let limit = min(configuration.batchSize, budget.messages)
        let sendsData = settings.sendsData
        let rows = try await database.run { try Self.next(limit: limit, acknowledged: sendsData, $0) }
        var messages: [ProxyWire.Message] = []
        var bytes = 0
        // A batch that starts with urgent messages stays small (theirs and at most 50 more):
        // an urgent message waits at most for the round under way, not for a full batch of
        // normal or bulk ones behind it.
        let urgentFirst = rows.first?.precedence == .urgent
        var others = 0
        for row in rows {
            if urgentFirst && row.precedence != .urgent {
                others += 1
                if others > 50 { break }
            }
            if !messages.isEmpty && (bytes + row.bytes > configuration.batchBytes || bytes + row.bytes > budget.bytes) { break }
            if messages.isEmpty && row.bytes > budget.bytes && budget.bytes < settings.bytesPerPeriod { break }  // wait for a fresh period
            messages.append(row.message(proxy: settings.proxyID, site: configuration.site))
            bytes += row.bytes
        }
        // Idle: look again in 100 ms (an urgent message wakes the loop at once, NOTIFY).
        if messages.isEmpty { return rows.isEmpty ? 0.1 : max(0.05, settings.windowLeft) }
        budget.messages -= messages.count
        let answer = try await post(ProxyWire.Batch(proxy: settings.proxyID, site: configuration.site, mode: settings.mode, messages: messages))
        try await database.run { c in try Self.apply(answer, on: c) }
        for dropped in answer.dropped { logger.warning("proxy: the upstream dropped message \(dropped.id): \(dropped.reason)") }
        return nil
    }

    /// Registration (session mode: until acknowledged, resent every N heartbeats), the
    /// heartbeat, and messages whose TTL passed.
    func housekeeping(_ settings: Settings, database: DedicatedConnection, state: inout LoopState) async throws {
        let now = ContinuousClock.now
        // Expiry once a second (the next batch skips expired messages anyway).
        if state.lastExpiry.map({ now - $0 >= .seconds(1) }) ?? true {
            state.lastExpiry = now
            let expired = try await database.run { try $0.execute("SELECT cimdb.proxy_expire() AS n").first?.int("n") ?? 0 }
            if expired > 0 { logger.info("proxy: \(expired) message(s) expired before they could be sent (rule 1)") }
            let unclaimed = try await database.run { try $0.execute("SELECT cimdb.proxy_expire_requests() AS n").first?.int("n") ?? 0 }
            if unclaimed > 0 { logger.info("proxy: \(unclaimed) back-channel request(s) discarded: their integrator did not take them in time") }
        }
        let due = state.lastHeartbeat.map { now - $0 >= .seconds(settings.heartbeatSeconds) } ?? true
        guard due else { return }
        state.lastHeartbeat = now
        state.heartbeats += 1
        let heartbeats = state.heartbeats
        try await database.run { c in
            if settings.acknowledgedAt == nil {
                let waiting = try c.execute("SELECT count(*) AS n FROM cimdb.proxy_message WHERE kind = 'register-proxy'").first?.int("n") ?? 0
                let resend = settings.registrationSentAt == nil || (settings.mode == "session" && (heartbeats - 1) % settings.registrationEvery == 0)
                if waiting == 0 && resend && !(settings.mode == "message" && settings.registrationSentAt != nil) {
                    let body = #"{"proxy":"\#(settings.proxyID)","mode":"\#(settings.mode)"}"#
                    _ = try c.execute("SELECT cimdb.proxy_enqueue_control(NULL, 'register-proxy', NULL, \(body))")
                    _ = try c.execute("UPDATE cimdb.proxy_settings SET registration_sent_at = now()")
                }
            }
            if settings.sendsData {
                _ = try c.execute("SELECT cimdb.proxy_enqueue_heartbeat()")
            }
        }
    }

    func post(_ batch: ProxyWire.Batch) async throws -> ProxyWire.Answer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let token = configuration.token { headers.add("Authorization", "Bearer \(token)") }
        let request = HTTPRequest(method: "POST", target: ProxyWire.messagesPath, headers: headers, body: Array(try encoder.encode(batch)))
        let response = try await client.send(request, to: configuration.upstream)
        guard response.status == 200 else {
            throw ForwardError("the upstream answered \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))")
        }
        do {
            return try JSONDecoder().decode(ProxyWire.Answer.self, from: Data(response.body))
        } catch {
            throw ForwardError("the upstream's answer is not a batch answer: \(error)")
        }
    }

    /// Ends the life of the acknowledged messages, counts them in the throttle's period, and
    /// records the acknowledgements: one transaction.
    static func apply(_ answer: ProxyWire.Answer, on c: Connection) throws {
        try c.transaction { c in
            _ = try c.execute("SELECT cimdb.proxy_acknowledge(\(answer.done)::uuid[])")
            if answer.acknowledgedProxy {
                let changed = try c.execute("UPDATE cimdb.proxy_settings SET acknowledged_at = now() WHERE acknowledged_at IS NULL").affectedRows
                if changed > 0 { try log(c, "registered", "the upstream acknowledged the proxy's registration") }
            }
            if !answer.acknowledgedIntegrators.isEmpty {
                let names = try c.execute(
                    """
                    UPDATE cimdb.proxy_integrator SET acknowledged_at = now()
                    WHERE id = ANY(\(answer.acknowledgedIntegrators)::uuid[]) AND acknowledged_at IS NULL RETURNING name || ' ' || version AS n
                    """
                ).compactMap { $0["n"] }
                for name in names { try log(c, "integrator registered", name) }
            }
            for dropped in answer.dropped { try log(c, "dropped upstream", "\(dropped.id): \(dropped.reason)") }
            try receive(answer.requests, on: c)
        }
    }

    /// Back-channel requests from an answer: routed, checked and held (or refused) by
    /// cimdb.proxy_receive_request, which also queues what became of each for the upstream.
    /// The XML is checked here (libxml2), so that integrators only ever get well-formed XML.
    static func receive(_ requests: [ProxyWire.Request], on c: Connection) throws {
        for request in requests {
            guard UUID(uuidString: request.id) != nil else {
                try log(c, "request refused", "\(request.id.prefix(64)): its id is not a uuid")
                continue
            }
            let problem = request.body.flatMap { $0.isEmpty ? nil : WellFormedXML.problem(Array($0.utf8)) }
            _ = try c.execute(
                "SELECT cimdb.proxy_receive_request(\(request.id)::uuid, \(request.destination), \(request.kind), \(request.body), \(problem))")
        }
    }

    static func log(_ c: Connection, _ what: String, _ detail: String?) throws {
        _ = try c.execute("INSERT INTO cimdb.proxy_log (what, detail) VALUES (\(what), \(detail))")
    }

    struct Row: Sendable {
        var messageID: String
        var kind: String
        var precedence: QoS.Precedence
        var persistence: QoS.Persistence
        var integrator: String?
        var instance: String?
        var eventID: String?
        var queuedAt: String
        var expiresAt: String?
        var body: String
        var bytes: Int

        init(row: SQLCore.Row) {
            self.init(
                messageID: row["message_id"] ?? "", kind: row["kind"] ?? "", precedence: QoS.Precedence.allCases[row.int("precedence") ?? 1],
                persistence: QoS.Persistence(rawValue: row["persistence"] ?? "") ?? .normal, integrator: row["integrator"],
                instance: row["instance"], eventID: row["event_id"], queuedAt: row["queued_at"] ?? "", expiresAt: row["expires_at"],
                body: row["body"] ?? "{}", bytes: row.int("bytes") ?? 0)
        }

        init(
            messageID: String, kind: String, precedence: QoS.Precedence, persistence: QoS.Persistence, integrator: String?, instance: String?,
            eventID: String?, queuedAt: String, expiresAt: String?, body: String, bytes: Int
        ) {
            self.messageID = messageID
            self.kind = kind
            self.precedence = precedence
            self.persistence = persistence
            self.integrator = integrator
            self.instance = instance
            self.eventID = eventID
            self.queuedAt = queuedAt
            self.expiresAt = expiresAt
            self.body = body
            self.bytes = bytes
        }

        func message(proxy: String, site: String) -> ProxyWire.Message {
            let header = ProxyWire.Header(
                source: integrator ?? proxy, sourceType: integrator == nil ? "proxy" : "integrator",
                routing: instance.map { "\(site)/\($0)" } ?? site, timeToTransmit: expiresAt)
            return ProxyWire.Message(
                id: messageID, kind: kind, precedence: precedence, persistence: persistence, header: header, integrator: integrator,
                instance: instance, eventID: eventID, queuedAt: queuedAt, body: body)
        }
    }

    /// The next messages to send, highest precedence first and FIFO within one; never an
    /// expired one. Until the upstream acknowledges the proxy (session mode), only its
    /// registration; support-instance registrations wait for their integrator's acknowledgement.
    static func next(limit: Int, acknowledged: Bool, _ c: Connection) throws -> [Row] {
        try c.execute(
            """
            SELECT m.message_id::text AS message_id, m.kind, m.precedence, m.persistence, m.integrator::text AS integrator, m.instance,
                   m.event_id, to_char(m.queued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS queued_at,
                   to_char(m.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS expires_at, m.body, m.bytes
            FROM cimdb.proxy_message m
            LEFT JOIN cimdb.proxy_integrator i ON i.id = m.integrator
            CROSS JOIN cimdb.proxy_settings s
            WHERE (m.expires_at IS NULL OR m.expires_at > clock_timestamp())
              AND (\(acknowledged) OR m.kind = 'register-proxy')
              AND (m.kind <> 'register-instances' OR i.acknowledged_at IS NOT NULL OR s.mode = 'message')
              AND NOT cimdb.proxy_negotiated(m.kind, m.precedence, m.bytes, s.bulk_threshold)
            ORDER BY m.precedence, m.id
            LIMIT \(limit)
            """
        ).map(Row.init(row:))
    }
}

/// The settings row and what is left of the throttle's period.
struct Settings: Sendable {
    var proxyID: String
    /// The backend process that answered (the forwarder's session lock lives there).
    var backend: Int32
    var mode: String
    var acknowledgedAt: String?
    var registrationSentAt: String?
    var registrationEvery: Int
    var stopped: Bool
    var heartbeatSeconds: Double
    var bytesPerPeriod: Int
    var budget: (messages: Int, bytes: Int)
    /// Seconds until the throttle's period ends.
    var windowLeft: Double

    /// Data flows: message mode, or session mode once the upstream acknowledged the proxy.
    var sendsData: Bool { mode == "message" || acknowledgedAt != nil }

    static func read(_ c: Connection) throws -> Settings {
        let row = try c.execute(
            """
            SELECT s.proxy_id::text AS proxy_id, pg_backend_pid() AS backend, s.mode, s.acknowledged_at::text AS acknowledged_at,
                   s.registration_sent_at::text AS registration_sent_at, s.registration_every, s.stopped,
                   extract(epoch FROM s.heartbeat)::float8 AS heartbeat, s.bytes_per_period, s.messages_per_period,
                   coalesce(t.messages, 0) AS sent_messages, coalesce(t.bytes, 0) AS sent_bytes,
                   extract(epoch FROM date_bin(s.period, clock_timestamp(), timestamptz '2000-01-01') + s.period - clock_timestamp())::float8 AS left
            FROM cimdb.proxy_settings s
            LEFT JOIN cimdb.proxy_throughput t ON t.period_start = date_bin(s.period, clock_timestamp(), timestamptz '2000-01-01')
            """
        ).first
        guard let row else { throw ForwardError("cimdb.proxy_settings is empty: run cimdb migrate") }
        let unlimited = Int.max / 4
        let perPeriodMessages = row.int("messages_per_period").map { $0 - (row.int("sent_messages") ?? 0) } ?? unlimited
        let perPeriodBytes = row.int("bytes_per_period") ?? unlimited
        let bytesLeft = row.int("bytes_per_period").map { $0 - (row.int("sent_bytes") ?? 0) } ?? unlimited
        return Settings(
            proxyID: row["proxy_id"] ?? "", backend: Int32(row.int("backend") ?? 0), mode: row["mode"] ?? "session",
            acknowledgedAt: row["acknowledged_at"],
            registrationSentAt: row["registration_sent_at"], registrationEvery: row.int("registration_every") ?? 5,
            stopped: row.bool("stopped") ?? false, heartbeatSeconds: row["heartbeat"].flatMap(Double.init) ?? 60, bytesPerPeriod: perPeriodBytes,
            budget: (perPeriodMessages, bytesLeft), windowLeft: row["left"].flatMap(Double.init) ?? 1)
    }
}

struct ForwardError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// NOTIFY cimdb_proxy (a message queued, the settings changed) wakes the forwarder early.
final class Wakeups: Sendable {
    let connection: DedicatedConnection
    let logger: Logger
    private let signal = AsyncSignal()

    init(conninfo: String, logger: Logger) {
        connection = DedicatedConnection(conninfo: conninfo, label: "cimdb.proxy.listen")
        self.logger = logger
    }

    func listen() async {
        var listening = false
        while !Task.isCancelled {
            do {
                if !listening {
                    try await connection.run { try $0.listen("cimdb_proxy") }
                    listening = true
                    signal.fire()
                }
                let notifications = try await connection.run { try $0.notifications(timeout: .milliseconds(500)) }
                if !notifications.isEmpty { signal.fire() }
            } catch {
                listening = false
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    func wait(upTo seconds: Double) async { await signal.wait(upTo: .milliseconds(Int(seconds * 1000))) }

    func close() async { await connection.close() }
}

/// Wakes one waiting task early; a wake-up with nobody waiting is kept for the next wait.
final class AsyncSignal: Sendable {
    private struct State {
        var fired = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    func fire() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if state.waiters.isEmpty { state.fired = true }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Returns when fired, or after `duration`.
    func wait(upTo duration: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let id = state.withLock { state -> UInt64? in
                if state.fired {
                    state.fired = false
                    return nil
                }
                state.nextID += 1
                state.waiters[state.nextID] = continuation
                return state.nextID
            }
            guard let id else { return continuation.resume() }
            Task {
                try? await Task.sleep(for: duration)
                self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
            }
        }
    }
}
