import Foundation
import HTTPClient
import Logging
import Proxy
import SQLCore
import Store
import Synchronization

/// Bulk transfers (bulk data, and any message over `bulk_threshold` bytes), apart from the main
/// sender so that an urgent alarm never waits behind one: each is negotiated first (a small
/// request with its type and size to `POST /v1/bulk`); okay → the message goes to the URL the
/// upstream gave; deferred → tried again with the next heartbeat, `bulk_attempts` times, each
/// logged, then dropped and logged; rejected → dropped, logged with the upstream's code.
struct BulkSender: Sendable {
    var configuration: Forwarder.Configuration
    var logger: Logger
    /// Set while this process holds the queue's forwarder lock (the main loop takes it).
    var forwarding: ForwardingFlag
    var client = HTTPClient(connectTimeout: .seconds(5), timeout: .seconds(120))

    func run() async {
        let database = DedicatedConnection(conninfo: configuration.conninfo, label: "cimdb.proxy.bulk")
        var failures = 0
        while !Task.isCancelled {
            do {
                let pause = try await step(database)
                failures = 0
                if let pause { try await Task.sleep(for: .milliseconds(Int(pause * 1000))) }
            } catch is CancellationError {
                break
            } catch {
                failures += 1
                if failures == 1 || failures % 20 == 0 { logger.warning("proxy: a bulk transfer failed (\(failures) time(s)), retrying: \(error)") }
                try? await Task.sleep(for: .milliseconds(Int(min(0.2 * pow(2, Double(min(failures, 8))), 10) * 1000)))
            }
        }
        await database.close()
    }

    /// One transfer; nil when one went (look again at once), else how long to wait.
    func step(_ database: DedicatedConnection) async throws -> Double? {
        guard forwarding.isSet else { return 1 }
        let settings = try await database.run { try Settings.read($0) }
        guard !settings.stopped, settings.sendsData else { return 1 }
        guard let row = try await database.run({ try Self.next($0) }) else { return 0.5 }
        let budget = settings.budget
        if budget.messages <= 0 || (row.bytes > budget.bytes && budget.bytes < settings.bytesPerPeriod) { return max(0.05, settings.windowLeft) }
        let type = Self.type(of: row)
        let request = ProxyWire.BulkRequest(
            proxy: settings.proxyID, site: configuration.site, id: row.messageID, kind: row.kind, type: type, bytes: row.bytes)
        let answer: ProxyWire.BulkAnswer = try await post(ProxyWire.bulkPath, request, settings)
        switch answer.status {
        case "okay":
            let target = answer.url ?? "\(ProxyWire.bulkPath)/\(row.messageID)"
            let batch = ProxyWire.Batch(
                proxy: settings.proxyID, site: configuration.site, mode: settings.mode,
                messages: [row.message(proxy: settings.proxyID, site: configuration.site)])
            let (status, body) = try await postRaw(target, batch, settings)
            if status == 200, let done = try? JSONDecoder().decode(ProxyWire.Answer.self, from: Data(body)) {
                try await database.run { c in
                    try Forwarder.apply(done, on: c)
                    try Forwarder.log(c, "bulk sent", "\(row.messageID): \(row.bytes) bytes (\(type))")
                }
            } else if let rejected = try? JSONDecoder().decode(ProxyWire.BulkAnswer.self, from: Data(body)), rejected.status == "rejected" {
                try await drop(row, "bulk rejected", "the transfer was rejected (\(rejected.code ?? "no code")): \(rejected.reason ?? "")", database)
            } else {
                throw ForwardError("the bulk transfer of \(row.messageID) got \(status): \(String(decoding: body.prefix(300), as: UTF8.self))")
            }
        case "deferred":
            let reason = answer.reason ?? "no reason given"
            let attempts = try await database.run { c in
                try c.execute(
                    """
                    INSERT INTO cimdb.proxy_bulk_attempt AS a (message_id, attempts, last_reason, next_try_at)
                    VALUES (\(row.messageID)::uuid, 1, \(reason), now() + (SELECT heartbeat FROM cimdb.proxy_settings))
                    ON CONFLICT (message_id) DO UPDATE
                        SET attempts = a.attempts + 1, last_reason = excluded.last_reason, next_try_at = excluded.next_try_at
                    RETURNING attempts
                    """
                ).first?.int("attempts") ?? 1
            }
            let allowed = try await database.run { try $0.execute("SELECT bulk_attempts FROM cimdb.proxy_settings").first?.int("bulk_attempts") ?? 5 }
            if attempts >= allowed {
                try await drop(row, "bulk aborted", "deferred \(attempts) times, last: \(reason)", database)
            } else {
                try await database.run { c in try Forwarder.log(c, "bulk deferred", "\(row.messageID) (attempt \(attempts) of \(allowed)): \(reason)")
                }
                logger.info("proxy: the upstream deferred bulk transfer \(row.messageID): \(reason)")
            }
        case "rejected":
            try await drop(row, "bulk rejected", "the request was rejected (\(answer.code ?? "no code")): \(answer.reason ?? "")", database)
        default:
            throw ForwardError("the upstream answered the bulk request for \(row.messageID) with status \(answer.status)")
        }
        return nil
    }

    func drop(_ row: Forwarder.Row, _ what: String, _ detail: String, _ database: DedicatedConnection) async throws {
        logger.warning("proxy: \(what): \(row.messageID): \(detail)")
        try await database.run { c in
            try c.transaction { c in
                _ = try c.execute("SELECT cimdb.proxy_drop_queued(\(row.messageID)::uuid, \("\(what): \(detail)"))")
                try Forwarder.log(c, what, "\(row.messageID): \(detail)")
            }
        }
    }

    /// The data's class/subclass, or the message kind.
    static func type(of row: Forwarder.Row) -> String {
        guard row.kind == "data", let object = try? JSONSerialization.jsonObject(with: Data(row.body.utf8)) as? [String: Any] else { return row.kind }
        return "\(object["class"] as? String ?? "")/\(object["subclass"] as? String ?? "")"
    }

    func post<Body: Encodable, Answer: Decodable>(_ target: String, _ body: Body, _ settings: Settings) async throws -> Answer {
        let (status, data) = try await postRaw(target, body, settings)
        guard status == 200 else {
            throw ForwardError("the upstream answered \(status) to \(target): \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return try JSONDecoder().decode(Answer.self, from: Data(data))
    }

    func postRaw(_ target: String, _ body: some Encodable, _ settings: Settings) async throws -> (Int, [UInt8]) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let token = configuration.token { headers.add("Authorization", "Bearer \(token)") }
        let url: String
        let path: String
        if target.hasPrefix("http://") || target.hasPrefix("https://") {
            let afterScheme = target.firstRange(of: "://").map { target[$0.upperBound...] } ?? ""
            let slash = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
            url = String(target[..<slash])
            path = slash == afterScheme.endIndex ? "/" : String(afterScheme[slash...])
        } else {
            url = configuration.upstream
            path = target
        }
        let request = HTTPRequest(method: "POST", target: path, headers: headers, body: Array(try encoder.encode(body)))
        let response = try await client.send(request, to: url)
        return (response.status, response.body)
    }

    /// The next bulk transfer due: bulk data or a message over the threshold, not expired, not
    /// deferred until later; by precedence and age.
    static func next(_ c: Connection) throws -> Forwarder.Row? {
        try c.execute(
            """
            SELECT m.message_id::text AS message_id, m.kind, m.precedence, m.persistence, m.integrator::text AS integrator, m.instance,
                   m.event_id, to_char(m.queued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS queued_at,
                   to_char(m.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS expires_at, m.body, m.bytes
            FROM cimdb.proxy_message m
            CROSS JOIN cimdb.proxy_settings s
            LEFT JOIN cimdb.proxy_bulk_attempt a ON a.message_id = m.message_id
            WHERE cimdb.proxy_negotiated(m.kind, m.precedence, m.bytes, s.bulk_threshold)
              AND (m.expires_at IS NULL OR m.expires_at > clock_timestamp())
              AND (a.next_try_at IS NULL OR a.next_try_at <= now())
            ORDER BY m.precedence, m.id
            LIMIT 1
            """
        ).first.map(Forwarder.Row.init(row:))
    }
}

/// Whether this process forwards the queue (holds the forwarder lock).
final class ForwardingFlag: Sendable {
    private let value = Atomic(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set(_ on: Bool) { value.store(on, ordering: .releasing) }
}
