import CIM
import CommandSupport
import Export
import Foundation
import Ingest
import Logging
import ModelStore
import ORM
import SQLCore
public import Store

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Subscriptions of external systems to inventory changes (table `cimdb.subscription`).
public enum Subscriptions {
    /// Registers `url` for the events of `className` (and its subclasses; nil: every class) and
    /// of `node` (nil: every node), from now on. Returns the subscription's id.
    public static func add(url: String, className: String?, node: String?, on connection: Connection) throws -> Int64 {
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw SubscriptionError.notHTTP(url: url)
        }
        var canonical: String?
        if let className {
            guard let name = try ModelCatalog.installedName(of: className, on: connection) else {
                throw SubscriptionError.unknownClass(className)
            }
            canonical = name
        }
        return try connection.execute(
            """
            INSERT INTO cimdb.subscription (url, class_name, node, delivered_through)
            VALUES (\(url), \(canonical), \(node), (SELECT coalesce(max(id), 0) FROM cimdb.event)) RETURNING id
            """
        ).first?.int64("id") ?? 0
    }

    /// Removes a subscription; false when there was none with that id.
    public static func remove(_ id: Int64, on connection: Connection) throws -> Bool {
        try connection.execute("DELETE FROM cimdb.subscription WHERE id = \(id)").affectedRows > 0
    }
}

/// Why a subscription was refused or a delivery failed.
public enum SubscriptionError: Error, CustomStringConvertible, Sendable, Equatable {
    case notHTTP(url: String)
    case unknownClass(String)
    /// The subscriber answered, but not 2xx.
    case subscriberRefused(url: String, status: Int)

    public var description: String {
        switch self {
        case .notHTTP(let url): "\(url) is not an http(s) URL"
        case .unknownClass(let name): "unknown class \(name) (not in the installed model)"
        case .subscriberRefused(let url, let status): "\(url) answered HTTP \(status)"
        }
    }
}

/// Delivers matching events to subscribers, from every server: each due subscription is leased
/// (`next_attempt_at` moved a minute ahead, `FOR UPDATE SKIP LOCKED`) by one server at a time,
/// its next events (at most `batch`) go out as one CIM-XML export message, and the delivery
/// state advances only when the subscriber answers 2xx. A subscriber that fails is retried with
/// backoff (2 s doubling, up to 5 minutes) from the same event: nothing is lost, and ingest never
/// waits for a subscriber (delivery runs on its own connection and reads the events table).
struct SubscriptionDelivery: Sendable {
    var conninfo: String
    var serverName: String
    var logger: Logger
    var batch = 500
    /// How long a subscription with nothing to send waits before it is looked at again.
    var idle: Duration = .milliseconds(500)

    func run() async {
        let session = URLSession(configuration: .ephemeral)
        // Delivery holds its connection for as long as the server runs: one of its own, on its
        // own queue (libpq blocks), so neither the pool nor the cooperative threads wait for it.
        let database = DedicatedConnection(conninfo: conninfo, label: "cimdb.server.subscriptions")
        var catalog: (catalog: ModelCatalog, model: Model?, loaded: ContinuousClock.Instant)?
        while !Task.isCancelled {
            do {
                // The model can change under a running server: read it again every minute.
                if catalog == nil || ContinuousClock.now - catalog!.loaded > .seconds(60) {
                    catalog = try await database.run { c in (try ModelCatalog.load(from: c), try ModelSourceStore.model(from: c), ContinuousClock.now)
                    }
                }
                var delivered = false
                while let lease = try await database.run({ try Self.lease(on: $0) }) {
                    delivered = true
                    await deliver(lease, catalog: catalog!.catalog, model: catalog!.model, database: database, session: session)
                    if Task.isCancelled { break }
                }
                if !delivered { try await Task.sleep(for: idle) }
            } catch is CancellationError {
                break
            } catch {
                // A broken connection is replaced at the next call.
                logger.warning("subscriptions: \(detailed: error)")
                try? await Task.sleep(for: .seconds(2))
            }
        }
        await database.close()
    }

    struct Lease: Sendable {
        var id: Int64
        var url: String
        var className: String?
        var node: String?
        var through: Int64
        var attempts: Int
    }

    /// Takes the most overdue subscription for a minute, or nil when none is due.
    static func lease(on c: Connection) throws -> Lease? {
        guard
            let row = try c.execute(
                """
                UPDATE cimdb.subscription SET next_attempt_at = now() + interval '1 minute'
                WHERE id = (SELECT id FROM cimdb.subscription WHERE next_attempt_at <= now()
                            ORDER BY next_attempt_at FOR UPDATE SKIP LOCKED LIMIT 1)
                RETURNING id, url, class_name, node, delivered_through, attempts
                """
            ).first, let id = row.int64("id"), let url = row["url"]
        else { return nil }
        return Lease(
            id: id, url: url, className: row["class_name"], node: row["node"],
            through: row.int64("delivered_through") ?? 0, attempts: Int(row.int64("attempts") ?? 0))
    }

    /// What one delivery sends: the document and the last event in it.
    struct Message: Sendable {
        var document: [UInt8]
        var events: Int
        var last: Int64
    }

    private func deliver(_ lease: Lease, catalog: ModelCatalog, model: Model?, database: DedicatedConnection, session: URLSession) async {
        do {
            let (batch, idle, serverName) = (self.batch, self.idle, self.serverName)
            guard
                let message = try await database.run({ c in
                    try Self.message(for: lease, catalog: catalog, model: model, batch: batch, idle: idle, host: serverName, on: c)
                })
            else { return }
            var request = URLRequest(url: URL(string: lease.url)!)
            request.httpMethod = "POST"
            request.httpBody = Data(message.document)
            request.timeoutInterval = 30
            request.setValue("application/xml; charset=utf-8", forHTTPHeaderField: "Content-Type")
            request.setValue(message.events == 1 ? "MethodRequest" : "MultipleExportRequest", forHTTPHeaderField: "CIMExport")
            request.setValue("ExportIndication", forHTTPHeaderField: "CIMExportMethod")
            let (_, response) = try await session.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            guard (200..<300).contains(status) else { throw SubscriptionError.subscriberRefused(url: lease.url, status: status) }
            try await database.run { c in
                try c.execute(
                    """
                    UPDATE cimdb.subscription SET delivered_through = \(message.last), attempts = 0, next_attempt_at = now(), last_error = NULL,
                        last_delivered_at = now(), documents_delivered = documents_delivered + 1, events_delivered = events_delivered + \(message.events)
                    WHERE id = \(lease.id)
                    """)
            }
        } catch {
            let attempts = lease.attempts + 1
            let delay = min(300.0, 2.0 * pow(2.0, Double(min(attempts - 1, 10))))
            logger.warning("subscription \(lease.id) (\(lease.url)): \(detailed: error); next attempt in \(Int(delay)) s")
            let reason = "\(detailed: error)"
            do {
                try await database.run { c in
                    try c.execute(
                        """
                        UPDATE cimdb.subscription SET attempts = \(attempts), next_attempt_at = now() + make_interval(secs => \(delay)), last_error = \(reason) WHERE id = \(lease.id)
                        """)
                }
            } catch {
                // The lease runs out in a minute and the subscription is tried again then.
                logger.warning("subscription \(lease.id): cannot record the failed attempt: \(detailed: error)")
            }
        }
    }

    /// The next events of `lease` as one export message, or nil when none matched (the
    /// subscription then skips past the newest event and waits `idle`).
    static func message(
        for lease: Lease, catalog: ModelCatalog, model: Model?, batch: Int, idle: Duration, host: String,
        on c: Connection
    ) throws -> Message? {
        let horizon = try ChangeExport.horizon(on: c)
        var options = CIMXMLExporter.Options(host: host)
        options.model = model
        let exporter = CIMXMLExporter(catalog: catalog, options: options)
        let selection = ChangeExport.Selection(
            through: lease.through, classes: ChangeExport.classes(lease.className, in: catalog), node: lease.node, horizon: horizon,
            limit: batch)
        let events = try ChangeExport.events(selection, exporter: exporter, on: c)
        if events.isEmpty {
            // Nothing matched up to the newest event: skip past it, and look again after the
            // idle pause (due again at once, it would be leased again and again).
            let pause = Double(idle.components.seconds) + Double(idle.components.attoseconds) / 1e18
            try c.execute(
                """
                UPDATE cimdb.subscription SET delivered_through = \(horizon), next_attempt_at = now() + make_interval(secs => \(pause)) WHERE id = \(lease.id)
                """)
            return nil
        }
        let last = events[events.count - 1].change.id
        let changes = events.map(\.change)
        let document = try IndicationDocument.make(events: changes, messageID: "\(lease.id)-\(last)", host: host)
        return Message(document: document, events: events.count, last: last)
    }
}
