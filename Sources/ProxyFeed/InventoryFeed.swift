import CIM
import Export
import Foundation
public import Logging
import ModelStore
import ORM
import Proxy
import ProxyService
import SQLCore
import Store

/// The inventory as an integrator (issue 15, scope 9): `cimdb proxy run` forwards the
/// inventory's change events to the upstream as the integrator `cimdb-inventory`, per feed of
/// `cimdb.proxy_feed` — as events (sendEvent: one per change) or as CIM-XML export messages
/// (sendData: one per batch of changes, the DSP0201 indications subscriptions get). Each round
/// reads a feed after its cursor and queues what it read in the transaction that moves the
/// cursor, so every change is queued exactly once; a full queue (rule 5) rolls the round back
/// and it is tried again. Nothing is read before the upstream acknowledged the integrator.
public struct InventoryFeed: Sendable {
    public static let integratorName = "cimdb-inventory"
    /// The support instance of changes that name no node.
    public static let inventoryInstance = "inventory"

    public var conninfo: String
    /// The site's name: the CIM-XML instance paths' host.
    public var site: String
    /// The integrator's version (cimdb's).
    public var version: String
    public var logger: Logger

    public init(conninfo: String, site: String, version: String, logger: Logger) {
        self.conninfo = conninfo
        self.site = site
        self.version = version
        self.logger = logger
    }

    /// Feeds until the task is cancelled.
    public func run() async {
        let database = DedicatedConnection(conninfo: conninfo, label: "cimdb.proxy.feed")
        var catalog: (catalog: ModelCatalog, model: Model?, loaded: ContinuousClock.Instant)?
        var failures = 0
        while !Task.isCancelled {
            do {
                // The model can change under a running proxy: read it again every minute.
                var current = catalog
                if current.map({ ContinuousClock.now - $0.loaded > .seconds(60) }) ?? true {
                    current = try await database.run { c in (try ModelCatalog.load(from: c), try ModelSourceStore.model(from: c), ContinuousClock.now)
                    }
                    catalog = current
                }
                guard let (loaded, model, _) = current else { continue }
                let (site, version) = (site, version)
                let queued = try await database.run { c in try Self.round(catalog: loaded, model: model, site: site, version: version, on: c) }
                if failures > 0 { logger.info("proxy: the inventory feeds go on") }
                failures = 0
                if queued == 0 { try await Task.sleep(for: .seconds(1)) }
            } catch is CancellationError {
                break
            } catch {
                failures += 1
                if failures == 1 || failures % 30 == 0 { logger.warning("proxy: inventory feed: \(error)") }
                try? await database.run { c in _ = try c.execute("UPDATE cimdb.proxy_feed SET last_error = \("\(error)")") }
                try? await Task.sleep(for: .seconds(2))
            }
        }
        await database.close()
    }

    struct Feed {
        var id: Int64
        var what: String
        var className: String?
        var node: String?
        var qos: QoS
        var through: Int64
    }

    /// A round over every feed, a transaction each; how many changes were queued.
    static func round(catalog: ModelCatalog, model: Model?, site: String, version: String, on c: Connection) throws -> Int {
        let ids = try c.execute("SELECT id FROM cimdb.proxy_feed ORDER BY id").compactMap { $0.int64("id") }
        guard !ids.isEmpty else { return 0 }
        guard let handle = try integrator(version: version, on: c) else { return 0 }
        var queued = 0
        for id in ids {
            queued += try c.transaction { c in try forward(id, handle: handle, catalog: catalog, model: model, site: site, on: c) }
        }
        return queued
    }

    /// The inventory's handle once the upstream acknowledged it (registered on first use).
    static func integrator(version: String, on c: Connection) throws -> String? {
        let known = try c.execute(
            "SELECT id::text AS id FROM cimdb.proxy_integrator WHERE name = \(integratorName) AND version = \(version)"
        ).first?["id"]
        let handle = try known ?? ProxyQueries.register(name: integratorName, version: version, on: c)
        return try ProxyQueries.isAcknowledged(handle, on: c) ? handle : nil
    }

    struct Rejected: Error, CustomStringConvertible {
        var description: String
    }

    /// One feed's next changes queued and its cursor moved (the caller's transaction).
    static func forward(_ id: Int64, handle: String, catalog: ModelCatalog, model: Model?, site: String, on c: Connection) throws -> Int {
        guard
            let row = try c.execute(
                """
                SELECT id, what, class_name, node, precedence, extract(epoch FROM ttl)::bigint AS ttl, forwarded_through
                FROM cimdb.proxy_feed WHERE id = \(id) FOR UPDATE SKIP LOCKED
                """
            ).first
        else { return 0 }
        let feed = Feed(
            id: id, what: row["what"] ?? "events", className: row["class_name"], node: row["node"],
            qos: QoS(precedence: QoS.Precedence(rawValue: row["precedence"] ?? "") ?? .normal, ttlSeconds: row.int("ttl")),
            through: row.int64("forwarded_through") ?? 0)
        var options = CIMXMLExporter.Options(host: site)
        options.model = model
        let exporter = CIMXMLExporter(catalog: catalog, options: options)
        let horizon = try ChangeExport.horizon(on: c)
        let selection = ChangeExport.Selection(
            through: feed.through, classes: ChangeExport.classes(feed.className, in: catalog), node: feed.node, horizon: horizon,
            limit: feed.what == "export" ? 100 : 500)
        let events = try ChangeExport.events(selection, exporter: exporter, on: c)
        guard let last = events.last?.change.id else {
            // Nothing matched up to the newest change: skip past it.
            if horizon > feed.through { _ = try c.execute("UPDATE cimdb.proxy_feed SET forwarded_through = \(horizon) WHERE id = \(id)") }
            return 0
        }
        let instances = Set(events.map { feed.what == "export" ? feed.node ?? inventoryInstance : $0.node ?? inventoryInstance })
        _ = try ProxyQueries.registerInstances(handle: handle, instances: instances.sorted().map { (id: $0, capabilities: nil) }, on: c)
        var messages = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func queue(_ kind: String, _ instance: String, _ eventID: String?, _ body: some Encodable) throws {
            let text = String(decoding: try encoder.encode(body), as: UTF8.self)
            let outcome = try ProxyQueries.send(handle: handle, kind: kind, instance: instance, eventID: eventID, qos: feed.qos, body: text, on: c)
            guard outcome.isSuccess else { throw Rejected(description: "feed \(id): \(outcome.detail ?? "the queue is full"); tried again") }
            messages += 1
        }
        if feed.what == "export" {
            let document = try IndicationDocument.make(events: events.map(\.change), messageID: "feed-\(id)-\(last)", host: site)
            let data = IntegratorMessage.Data(
                instance: feed.node ?? inventoryInstance, class: "cim-xml", subclass: "ExportIndication",
                data: IntegratorMessage.Payload(mime: "application/xml", bytes: document))
            try queue("data", data.instance, nil, data)
        } else {
            for event in events { try queue("event", event.node ?? inventoryInstance, "cimdb-event-\(event.change.id)", message(event)) }
        }
        _ = try c.execute(
            """
            UPDATE cimdb.proxy_feed SET forwarded_through = \(last), events_forwarded = events_forwarded + \(events.count),
                messages_queued = messages_queued + \(messages), last_forwarded_at = now(), last_error = NULL
            WHERE id = \(id)
            """)
        return events.count
    }

    /// A change as sendEvent: type the class, state what happened, the event id cimdb's.
    static func message(_ event: ChangeExport.Event) -> IntegratorMessage.Event {
        var text = "\(event.change.kind) \(event.change.instancePath)"
        if let property = event.property {
            text = "\(property): \(event.oldValue ?? "NULL") → \(event.newValue ?? "NULL") on \(event.change.instancePath)"
        }
        return IntegratorMessage.Event(
            instance: event.node ?? inventoryInstance, time: event.isoTime, type: event.className, eventID: "cimdb-event-\(event.change.id)",
            severity: severity(event.change.severity), state: event.change.kind, text: text)
    }

    /// cimdb's severities (none … critical) as the seed's (unknown … fatal).
    static func severity(_ cimdb: String) -> String {
        switch cimdb {
        case "info", "notice": "information"
        case "warning": "minor"
        case "error": "major"
        case "critical": "critical"
        default: "unknown"
        }
    }
}
