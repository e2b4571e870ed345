import CIM
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// One round of an update batch (no update monitor twice), inside the caller's transaction:
/// load (configuration, deployments, last runs) → decide (`UpdateDecision.check`, pure) → load
/// every line's instance with one query → decide (`UpdateDecision.resolve`) → write
/// (`UpdateWriter`, one statement per class).
struct UpdateRound {
    let processor: UpdateProcessor
    let connection: Connection
    var catalog: ModelCatalog { processor.catalog }

    func run(_ deliveries: [Delivery<UpdateResult>]) throws -> [UpdateOutcome] {
        try IndexProbes.only(on: connection)
        let results = deliveries.map(\.result)
        let checked = UpdateDecision.check(results, loaded: try load(results), maximumOutputBytes: processor.maximumOutputBytes)
        let found = try instanceIDs(UpdateDecision.lookups(checked, results))
        // Handed over, not shared: resolve sets the lines' ids in place.
        let items = UpdateDecision.resolve(consume checked, results, found: found)
        var outcomes: [UpdateOutcome?] = try items.enumerated().map { index, item in
            switch item {
            case .accepted: return nil
            case .duplicate(let sequence, let last): return .duplicate(sequence: sequence, lastApplied: last)
            case .refused(let errors):
                let result = results[index]
                let record = RejectionRecord(kind: "update", node: result.node, settings: result.settings, property: result.property)
                let id = try Rejection.record(record, raw: deliveries[index].raw ?? Envelope.encode(result), errors: errors, on: connection)
                return .rejected(id: id, errors: errors)
            }
        }
        var writer = UpdateWriter(connection: connection)
        for (index, summary) in try writer.write(items, results) { outcomes[index] = .applied(summary) }
        // Every item is accepted (and so applied), a duplicate or refused.
        return outcomes.compactMap { $0 }
    }

    /// The inventory properties the round names (a handful, however many results), and per
    /// result, by exact names (so that the primary keys are used): the severity its deployment
    /// on the node was given, and the monitor's last run, locked.
    func load(_ results: [UpdateResult]) throws -> UpdateDecision.Loaded {
        var pairs: [String: (settings: String, property: String)] = [:]
        for result in results { pairs[result.settings + "\u{0}" + result.property.lowercased()] = (result.settings, result.property.lowercased()) }
        let wanted = Array(pairs.values)
        var configs: [String: UpdateDecision.Config] = [:]
        for row in try connection.execute(
            """
            SELECT s.id, lower(p.property_name), s.class_name, s.key_property_order, p.property_name, p.changed_severity
            FROM unnest(\(wanted.map(\.settings)), \(wanted.map(\.property))) AS u (settings, property)
            JOIN cimdb.inventory_settings s ON s.id = u.settings
            JOIN cimdb.inventory_property p ON p.settings = s.id AND lower(p.property_name) = u.property
            """)
        {
            guard let id = row.string(0), let lowered = row.string(1), let stored = row.string(4),
                let cls = row.string(2).flatMap({ catalog.class(named: $0) }), let property = cls.property(named: stored)
            else { continue }
            let keyOrder = (row.stringArray(3) ?? []).compactMap { $0 }
            let keys = keyOrder.compactMap { cls.property(named: $0) }
            guard keys.count == keyOrder.count else { continue }
            configs[id + "\u{0}" + lowered] = UpdateDecision.Config(
                cls: cls, property: property, storedName: stored, keys: keys,
                severity: Severity(rawValue: row.string(5) ?? "") ?? .info)
        }
        let configOf = results.map { configs[$0.settings + "\u{0}" + $0.property.lowercased()] }
        let nodes = results.map(\.node), settings = results.map(\.settings)
        var loaded = UpdateDecision.Loaded(
            configs: configOf, deployedSeverity: Array(repeating: nil, count: results.count),
            last: Array(repeating: nil, count: results.count))
        for row in try connection.execute(
            """
            SELECT u.n, d.changed_severity
            FROM unnest(\(nodes), \(settings), \(configOf.map { $0?.storedName })) WITH ORDINALITY AS u (node, settings, property, n)
            JOIN cimdb.update_deployment d ON d.node = u.node AND d.settings = u.settings AND d.property_name = u.property
            """)
        {
            if let n = row.int(0), let severity = row.string(1).flatMap(Severity.init(rawValue:)) { loaded.deployedSeverity[n - 1] = severity }
        }
        for row in try connection.execute(
            """
            SELECT u.n, r.sequence, r.digest, r.line_hashes
            FROM unnest(\(nodes), \(settings), \(configOf.map { $0?.property.name })) WITH ORDINALITY AS u (node, settings, property, n)
            JOIN cimdb.update_run r ON r.node = u.node AND r.settings = u.settings AND r.property_name = u.property
            FOR UPDATE OF r
            """)
        {
            if let n = row.int(0), let sequence = row.int64(1), let digest = row.string(2) {
                loaded.last[n - 1] = UpdateDecision.LastRun(sequence: sequence, digest: digest, lines: row.bytes(3) ?? [])
            }
        }
        return loaded
    }

    /// The id of each (node, settings, path)'s instance among those the node reports under the
    /// settings object; 0 where there is none. Each distinct triple is looked up once (the
    /// update outputs of one settings object name the same instances).
    func instanceIDs(_ lookups: [(node: String, settings: String, path: String)]) throws -> [Int64] {
        struct Triple: Hashable { var node: String, settings: String, path: String }
        var position: [Triple: Int] = [:]
        var distinct: [Triple] = []
        let slots = lookups.map { lookup in
            let t = Triple(node: lookup.node, settings: lookup.settings, path: lookup.path)
            if let p = position[t] { return p }
            position[t] = distinct.count
            distinct.append(t)
            return distinct.count - 1
        }
        var found = [Int64](repeating: 0, count: distinct.count)
        if !distinct.isEmpty {
            // A correlated subquery: two unique index probes per line, whatever the statistics
            // say (as a join, the planner tends to scan a node's whole log for each line).
            for row in try connection.execute(
                """
                SELECT u.n, (SELECT i.id FROM cimdb.instance i WHERE i.path = u.path AND EXISTS (
                    SELECT 1 FROM cimdb.instance_source s WHERE s.node = u.node AND s.settings = u.settings AND s.instance_id = i.id))
                FROM unnest(\(distinct.map(\.node)), \(distinct.map(\.settings)), \(distinct.map(\.path))) WITH ORDINALITY AS u (node, settings, path, n)
                """)
            {
                if let n = row.int(0), let id = row.int64(1) { found[n - 1] = id }
            }
        }
        return slots.map { found[$0] }
    }
}

/// Writes the accepted results of an update round: their values merged into one UPDATE per
/// class (changed values, provenance and events in the same statement), their runs recorded.
struct UpdateWriter {
    let connection: Connection
    var events = EventBatch()

    init(connection: Connection) { self.connection = connection }

    /// Writes the accepted items; returns each one's summary, by position.
    mutating func write(_ items: [UpdateDecision.Item], _ results: [UpdateResult]) throws -> [Int: UpdateSummary] {
        var summaries: [Int: UpdateSummary] = [:]
        var accepted: [(index: Int, item: UpdateDecision.Accepted)] = []
        for (index, item) in items.enumerated() {
            if let a = item.accepted {
                accepted.append((index, a))
                summaries[index] = a.summary
            }
        }
        guard !accepted.isEmpty else { return [:] }
        // Values per class; the last result of the round wins where two give the same value
        // (two nodes reporting a shared instance).
        var byClass: [String: ClassUpdate] = [:]
        var classOrder: [String] = []
        for (index, item) in accepted {
            guard let config = item.config else { continue }
            if byClass[config.cls.name] == nil {
                byClass[config.cls.name] = ClassUpdate(cls: config.cls)
                classOrder.append(config.cls.name)
            }
            for line in item.lines {
                byClass[config.cls.name]?.set(
                    line.id, path: line.path, config.property, to: line.value, node: results[index].node, severity: config.severity)
            }
        }
        // Changed values and events, attributed to the results by (node, property).
        var itemOf: [String: Int] = [:]
        for (index, item) in accepted {
            let key = item.summary.node + "\u{0}" + item.summary.property.lowercased()
            if itemOf[key] == nil { itemOf[key] = index }
        }
        for name in classOrder {
            for tally in try byClass[name]?.apply(on: connection) ?? [] {
                guard let index = itemOf[tally.node + "\u{0}" + tally.property.lowercased()] else { continue }
                summaries[index]?.changed += tally.changed
                summaries[index]?.events += tally.events
                if let first = tally.firstEvent, let last = tally.lastEvent { events.record(first: first, last: last, count: tally.events) }
            }
        }
        try recordRuns(accepted.map { (results[$0.index], $0.item) })
        _ = try events.finish(on: connection)
        return summaries
    }

    /// The update monitors' last sequence numbers and digests, and the nodes' last update time.
    func recordRuns(_ runs: [(result: UpdateResult, item: UpdateDecision.Accepted)]) throws {
        let results = runs.map(\.result)
        try connection.execute(
            """
            INSERT INTO cimdb.update_run (node, settings, property_name, sequence, digest, line_hashes, applied_at)
            SELECT u.node, u.settings, u.property, u.sequence, u.digest, u.lines, now()
            FROM unnest(\(results.map(\.node)), \(results.map(\.settings)), \(runs.map(\.item.summary.property)), \(results.map { max($0.sequence, 0) }), \(runs.map(\.item.digest)), \(runs.map { $0.item.fingerprints.map { Bytea(LineFingerprints.encode($0)) } })) AS u (node, settings, property, sequence, digest, lines)
            ON CONFLICT (node, settings, property_name) DO UPDATE
            SET sequence = greatest(update_run.sequence, EXCLUDED.sequence), digest = EXCLUDED.digest,
                line_hashes = coalesce(EXCLUDED.line_hashes, update_run.line_hashes), applied_at = EXCLUDED.applied_at
            """)
        try connection.execute(
            """
            INSERT INTO cimdb.node (name, last_update_at) SELECT DISTINCT unnest(\(results.map(\.node))), now()
            ON CONFLICT (name) DO UPDATE SET last_update_at = EXCLUDED.last_update_at
            """)
    }
}
