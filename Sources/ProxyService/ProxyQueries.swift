import Foundation
public import Proxy
import SQLCore
public import Store

/// The integrator calls and the operator's commands, through the database functions that
/// hold the queue's rules (migrations/0011): a call returns only once its message is durably
/// queued (or its outcome recorded).
public enum ProxyQueries {
    /// Why a call failed: bad parameters (−1) or the infrastructure (−2).
    public typealias Failure = IntegratorFailure

    /// What became of a message handed to the queue.
    public struct Outcome: Sendable, Hashable {
        /// queued, discarded (rule 3), dropped (session mode before the proxy's registration is
        /// acknowledged) or rejected (rule 5, the queue is full: an error for the sender).
        public var outcome: String
        public var messageID: String?
        public var detail: String?

        /// Queued, discarded by rule 3 or dropped: the call succeeded. Rejected: it failed.
        public var isSuccess: Bool { outcome != "rejected" }
    }

    static func run<T>(_ body: () throws(PostgresError) -> T) throws(Failure) -> T {
        do {
            return try body()
        } catch {
            throw Failure.from(error)
        }
    }

    /// Registers an integrator (again: the same handle); its handle.
    public static func register(name: String, version: String, on c: Connection) throws(Failure) -> String {
        try run { () throws(PostgresError) in try c.execute("SELECT cimdb.proxy_register(\(name), \(version))::text AS handle").first?["handle"] }
            ?? ""
    }

    /// Issues an integrator's bearer token for the HTTP API (only its SHA-256 is kept).
    public static func setToken(handle: String, token: String, on c: Connection) throws(Failure) {
        try run { () throws(PostgresError) in
            _ = try c.execute("UPDATE cimdb.proxy_integrator SET token_sha256 = sha256(convert_to(\(token), 'UTF8')) WHERE id = \(handle)::uuid")
        }
    }

    /// The integrator a bearer token names.
    public static func handle(forToken token: String, on c: Connection) throws(Failure) -> String? {
        try run { () throws(PostgresError) in
            try c.execute("SELECT id::text AS id FROM cimdb.proxy_integrator WHERE token_sha256 = sha256(convert_to(\(token), 'UTF8'))").first?["id"]
        }
    }

    /// Whether data from this integrator flows: message mode, or its registration acknowledged
    /// by the upstream (session mode).
    public static func isAcknowledged(_ handle: String, on c: Connection) throws(Failure) -> Bool {
        try run { () throws(PostgresError) in
            try c.execute(
                """
                SELECT s.mode = 'message' OR (s.acknowledged_at IS NOT NULL AND i.acknowledged_at IS NOT NULL) AS ok
                FROM cimdb.proxy_settings s, cimdb.proxy_integrator i WHERE i.id = \(handle)::uuid
                """
            ).first?.bool("ok") ?? false
        }
    }

    /// Registers support instances (one message upstream for all the new ones); how many were new.
    public static func registerInstances(
        handle: String, instances: [(id: String, capabilities: String?)], on c: Connection
    ) throws(Failure) -> Int {
        let ids = instances.map(\.id)
        let capabilities = instances.map(\.capabilities)
        return try run { () throws(PostgresError) in
            try c.execute("SELECT cimdb.proxy_register_instances(\(handle)::uuid, \(ids), \(capabilities)) AS n").first?.int("n") ?? 0
        }
    }

    public static func deregisterInstance(handle: String, instance: String, on c: Connection) throws(Failure) {
        try run { () throws(PostgresError) in _ = try c.execute("SELECT cimdb.proxy_deregister_instance(\(handle)::uuid, \(instance))") }
    }

    /// Queues an event, an alarm or data.
    public static func send(
        handle: String, kind: String, instance: String, eventID: String?, qos: QoS, body: String, on c: Connection
    ) throws(Failure) -> Outcome {
        let ttl = qos.ttlSeconds.map { "\($0) seconds" }
        let row = try run { () throws(PostgresError) in
            try c.execute(
                """
                SELECT outcome, message_id::text AS message_id, detail
                FROM cimdb.proxy_enqueue(\(handle)::uuid, \(kind), \(instance), \(eventID), \(qos.precedence.rawValue), \
                \(qos.persistence.rawValue), \(ttl)::interval, \(body))
                """
            ).first
        }
        guard let row, let outcome = row["outcome"] else { throw .infrastructure("the database returned no outcome") }
        return Outcome(outcome: outcome, messageID: row["message_id"], detail: row["detail"])
    }

    /// The integrator's callback: the requests held for it (oldest first, at most `limit`),
    /// delivered from now on (the upstream is told). Empty when there are none.
    public static func takeRequests(handle: String, limit: Int, on c: Connection) throws(Failure) -> [IntegratorMessage.Request] {
        try run { () throws(PostgresError) in
            try c.execute(
                """
                SELECT id::text AS id, kind, destination, instance, body,
                       to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS received_at
                FROM cimdb.proxy_take_requests(\(handle)::uuid, \(limit)) ORDER BY received_at, id
                """
            ).map { row in
                IntegratorMessage.Request(
                    id: row["id"] ?? "", kind: row["kind"] ?? "", destination: row["destination"] ?? "", instance: row["instance"],
                    body: row["body"], receivedAt: row["received_at"] ?? "")
            }
        }
    }

    /// Queued messages and bytes per precedence, and the oldest's age.
    public struct Depth: Sendable, Hashable {
        public var precedence: String
        public var messages: Int64
        public var bytes: Int64
        public var oldest: String?
    }

    public static func depth(on c: Connection) throws(Failure) -> [Depth] {
        try run { () throws(PostgresError) in
            try c.execute("SELECT precedence, messages, bytes, oldest::text AS oldest FROM report.proxy_queue ORDER BY rank").map { row in
                Depth(
                    precedence: row["precedence"] ?? "", messages: row.int64("messages") ?? 0, bytes: row.int64("bytes") ?? 0,
                    oldest: row["oldest"])
            }
        }
    }

    /// The settings an operator may change (nil leaves one as it is; `.some(nil)` sets it unlimited).
    public struct Limits: Sendable {
        public var totalBytes: Int64??
        public var urgentBytes: Int64??
        public var normalBytes: Int64??
        public var bulkBytes: Int64??
        public var bytesPerMessage: Int64??
        public var bytesPerPeriod: Int64??
        public var messagesPerPeriod: Int64??
        public var periodSeconds: Int?
        public var heartbeatSeconds: Int?
        public var mode: String?
        /// Messages over this many bytes (and all bulk data) are negotiated first.
        public var bulkThreshold: Int?
        /// How many deferrals a bulk transfer gets before it is dropped.
        public var bulkAttempts: Int?
        /// How long a back-channel request waits for its integrator.
        public var requestHoldSeconds: Int?

        public init() {}
    }

    public static func setLimits(_ limits: Limits, on c: Connection) throws(Failure) {
        func column(_ name: String, _ value: Int64??) -> SQL? {
            guard let value else { return nil }
            return "\(identifier: name) = \(value)::bigint"
        }
        var assignments: [SQL] = [
            column("total_bytes", limits.totalBytes), column("urgent_bytes", limits.urgentBytes), column("normal_bytes", limits.normalBytes),
            column("bulk_bytes", limits.bulkBytes), column("bytes_per_message", limits.bytesPerMessage),
            column("bytes_per_period", limits.bytesPerPeriod), column("messages_per_period", limits.messagesPerPeriod),
        ].compactMap { $0 }
        if let seconds = limits.periodSeconds { assignments.append("period = \("\(seconds) seconds")::interval") }
        if let seconds = limits.heartbeatSeconds { assignments.append("heartbeat = \("\(seconds) seconds")::interval") }
        if let mode = limits.mode { assignments.append("mode = \(mode)") }
        if let bytes = limits.bulkThreshold { assignments.append("bulk_threshold = \(bytes)") }
        if let attempts = limits.bulkAttempts { assignments.append("bulk_attempts = \(attempts)") }
        if let seconds = limits.requestHoldSeconds { assignments.append("request_hold = \("\(seconds) seconds")::interval") }
        guard !assignments.isEmpty else { return }
        var statement: SQL = "UPDATE cimdb.proxy_settings SET "
        for (index, assignment) in assignments.enumerated() {
            if index > 0 { statement.append(", ") }
            statement.append(assignment)
        }
        try run { () throws(PostgresError) in _ = try c.execute(statement) }
    }

    /// Manual throttle: stops or restarts forwarding (queuing goes on).
    public static func setStopped(_ stopped: Bool, on c: Connection) throws(Failure) {
        try run { () throws(PostgresError) in _ = try c.execute("UPDATE cimdb.proxy_settings SET stopped = \(stopped)") }
    }

    /// The settings row as name → value (text, NULL as nil), for `cimdb proxy limits`.
    public static func settings(on c: Connection) throws(Failure) -> [(String, String?)] {
        try run { () throws(PostgresError) in
            let result = try c.execute(
                """
                SELECT proxy_id::text, mode, acknowledged_at::text, total_bytes::text, urgent_bytes::text, normal_bytes::text, \
                bulk_bytes::text, bytes_per_message::text, bytes_per_period::text, messages_per_period::text, period::text, \
                stopped::text, heartbeat::text, bulk_threshold::text, bulk_attempts::text, request_hold::text FROM cimdb.proxy_settings
                """)
            guard let row = result.first else { return [] }
            return result.columns.map { ($0, row[$0]) }
        }
    }
}

extension IntegratorFailure {
    /// A database error as the seed's codes: the queue functions' parameter errors (22023 and
    /// the cast errors) and 55000 (not acknowledged) as −1, anything else as −2.
    static func from(_ error: PostgresError) -> IntegratorFailure {
        let text = error.hint.map { "\(error.message) (\($0))" } ?? error.message
        switch error.sqlState {
        case "22023", "22P02", "22007", "22008": return .parameters(text)
        case "55000": return .notAcknowledged(text)
        default: return .infrastructure(text)
        }
    }
}
