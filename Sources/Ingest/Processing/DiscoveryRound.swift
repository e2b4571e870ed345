import CIM
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// One round of a discovery batch (no node twice), inside the caller's transaction:
/// load (the queries) → decide (`DiscoveryDecision`, pure) → write (`DiscoveryWriter`, a fixed
/// number of set-based statements for the whole round).
struct DiscoveryRound {
    let processor: DiscoveryProcessor
    let cascade: CascadeFinder
    let connection: Connection
    var catalog: ModelCatalog { processor.catalog }

    func run(_ deliveries: [Delivery<DiscoveryResult>]) throws -> [DiscoveryOutcome] {
        try IndexProbes.only(on: connection)
        let results = deliveries.map(\.result)
        var items = DiscoveryDecision.check(results, loaded: try load(results), catalog: catalog, maximumOutputBytes: processor.maximumOutputBytes)
        let (states, ids) = try nodeStates(DiscoveryDecision.nodesToLoad(items))
        items = DiscoveryDecision.checkReferences(items, states: states, catalog: catalog)
        var outcomes: [DiscoveryOutcome?] = try items.enumerated().map { index, item in
            switch item {
            case .accepted: return nil
            case .duplicate(let sequence, let last): return .duplicate(sequence: sequence, lastApplied: last)
            case .refused(let errors):
                let result = results[index]
                let id = try Rejection.record(
                    RejectionRecord(kind: "discovery", node: result.node, monitor: result.monitor),
                    raw: deliveries[index].raw ?? Envelope.encode(result),
                    errors: errors, on: connection)
                return .rejected(id: id, errors: errors)
            }
        }
        var writer = DiscoveryWriter(catalog: catalog, cascade: cascade, connection: connection, ids: ids)
        for (index, summary) in try writer.write(DiscoveryDecision.writePlan(items, states: states)) { outcomes[index] = .applied(summary) }
        // Every item is accepted (and so applied), a duplicate or refused.
        return outcomes.compactMap { $0 }
    }

    /// The monitors, their last sequence numbers (locked) and the digests last applied.
    func load(_ results: [DiscoveryResult]) throws -> DiscoveryDecision.Loaded {
        var loaded = DiscoveryDecision.Loaded()
        for row in try connection.execute(
            "SELECT name, snapshot::text FROM cimdb.discovery_monitor WHERE name = ANY(\(Array(Set(results.map(\.monitor)))))")
        {
            if let name = row.string(0), let snapshot = row.string(1).flatMap(MonitorSnapshot.decode) { loaded.snapshots[name] = snapshot }
        }
        let sequenced = results.filter { $0.sequence > 0 }
        if !sequenced.isEmpty {
            for row in try connection.execute(
                """
                SELECT r.node, r.monitor, r.sequence FROM cimdb.discovery_run r
                JOIN unnest(\(sequenced.map(\.node)), \(sequenced.map(\.monitor))) AS u (node, monitor) ON r.node = u.node AND r.monitor = u.monitor
                FOR UPDATE OF r
                """)
            {
                if let node = row.string(0), let monitor = row.string(1), let sequence = row.int64(2) {
                    loaded.lastSequence[node, default: [:]][monitor] = sequence
                }
            }
        }
        for row in try connection.execute(
            "SELECT node, settings, digest, instance_count FROM cimdb.discovery_state WHERE node = ANY(\(results.map(\.node)))")
        {
            if let node = row.string(0), let settings = row.string(1), let digest = row.string(2) {
                loaded.applied[node, default: [:]][settings] = (digest, row.int(3) ?? 0)
            }
        }
        return loaded
    }

    /// The current instances of `nodes`, in one query, and their ids by path.
    func nodeStates(_ nodes: [String]) throws -> ([String: DiscoveryDecision.NodeState], [String: Int64]) {
        var states: [String: DiscoveryDecision.NodeState] = [:]
        var ids: [String: Int64] = [:]
        guard !nodes.isEmpty else { return (states, ids) }
        var isAssociation: [String: Bool] = [:]
        for row in try connection.execute(
            """
            SELECT s.node, s.settings, s.instance_id, i.path, i.class_name
            FROM cimdb.instance_source s JOIN cimdb.instance i ON i.id = s.instance_id
            WHERE s.node = ANY(\(nodes))
            """)
        {
            guard let node = row.string(0), let settings = row.string(1), let id = row.int64(2), let path = row.string(3), let cls = row.string(4)
            else { continue }
            let association =
                isAssociation[cls]
                ?? {
                    let value = catalog.class(named: cls)?.isAssociation == true
                    isAssociation[cls] = value
                    return value
                }()
            if association {
                states[node, default: .init()].associations[settings, default: [:]][path] = id
            } else {
                states[node, default: .init()].instances[settings, default: [:]][path] = id
            }
            ids[path] = id
        }
        return (states, ids)
    }
}

/// Writes a round's `DiscoveryDecision.WritePlan` with set-based statements (COPY for what is
/// created) and tallies what each result did.
struct DiscoveryWriter {
    let catalog: ModelCatalog
    let cascade: CascadeFinder
    let connection: Connection
    /// Instance ids by canonical path: the nodes' current instances, found and created ones.
    var ids: [String: Int64]
    var summaries: [Int: DiscoverySummary] = [:]
    var events = EventBatch()

    init(catalog: ModelCatalog, cascade: CascadeFinder, connection: Connection, ids: [String: Int64]) {
        self.catalog = catalog
        self.cascade = cascade
        self.connection = connection
        self.ids = ids
    }

    /// Writes `plan`; returns each accepted item's summary.
    mutating func write(_ plan: DiscoveryDecision.WritePlan) throws -> [Int: DiscoverySummary] {
        guard !plan.accepted.isEmpty else { return [:] }
        summaries = plan.summaries
        try ensure(plan.instances)
        // References resolve to the ids of the node's instances, existing or just created.
        try ensure(
            plan.associations.map { wanted in
                var resolved = wanted
                resolved.keys = wanted.keys.map { property, value in
                    if property.isReference, case .reference(let target) = value { return (property, .signed(ids[target] ?? 0)) }
                    return (property, value)
                }
                return resolved
            })
        try removeGone(plan.gone)
        try maintainDeployments(emptied: plan.emptied, filled: plan.filled)
        try recordState(plan.states)
        try recordRuns(plan.runs)
        let eventCounts = events.events.reduce(into: [String: Int]()) { $0[$1.node, default: 0] += 1 }
        _ = try events.finish(on: connection)
        for index in plan.accepted { tally(index) { $0.events = eventCounts[$0.node] ?? 0 } }
        return summaries
    }

    private mutating func tally(_ item: Int, _ change: (inout DiscoverySummary) -> Void) {
        guard var summary = summaries[item] else { return }
        change(&summary)
        summaries[item] = summary
    }

    /// Looks up the wanted paths, creates the missing ones (class by class, one COPY each) and
    /// records the node as a source of all of them.
    mutating func ensure(_ wanted: [DiscoveryDecision.Wanted]) throws {
        guard !wanted.isEmpty else { return }
        let unknown = Array(Set(wanted.map(\.path).filter { ids[$0] == nil }))
        if !unknown.isEmpty {
            for row in try connection.execute("SELECT id, path FROM cimdb.instance WHERE path = ANY(\(unknown))") {
                if let id = row.int64(0), let path = row.string(1) { ids[path] = id }
            }
        }
        // Missing ones, once each (the first node to report an instance creates it), grouped by
        // class and key order.
        var creating: [String: [DiscoveryDecision.Wanted]] = [:]
        var order: [String] = []
        var claimed: Set<String> = []
        for w in wanted {
            // Exists already, or created by an earlier result of this batch: attached.
            if ids[w.path] != nil || !claimed.insert(w.path).inserted {
                tally(w.item) { $0.attached += 1 }
                continue
            }
            let group = w.cls.name + "\u{0}" + w.keys.map(\.0.name).joined(separator: ",")
            if creating[group] == nil { order.append(group) }
            creating[group, default: []].append(w)
        }
        for group in order {
            let rows = creating[group] ?? []
            let created = try BulkLoader(cls: rows[0].cls, columns: rows[0].keys.map(\.0))
                .insert(rows.map { $0.keys.map(\.1) }, paths: rows.map(\.path), on: connection)
            for (w, id) in zip(rows, created) {
                ids[w.path] = id
                tally(w.item) { $0.created += 1 }
                events.add(summaries[w.item]?.node ?? "", "created", w.cls.name, w.path, severity: w.settings.createdSeverity)
            }
        }
        let knownIDs = self.ids, tallied = self.summaries
        try connection.copyIn("COPY cimdb.instance_source (node, settings, instance_id) FROM STDIN") { writer in
            var seen: Set<String> = []
            for w in wanted {
                guard let node = tallied[w.item]?.node, let id = knownIDs[w.path] else { continue }
                // The same instance twice under one settings object of one node cannot happen
                // (plans drop duplicate lines); a guard all the same, since a duplicate key would
                // abort the batch.
                guard seen.insert(node + "\u{0}" + w.settings.id + "\u{0}" + String(id)).inserted else { continue }
                writer.appendRow([node, w.settings.id, String(id)])
            }
        }
    }

    /// What the nodes stopped reporting: their sources go; instances no node reports any more
    /// are deleted, with the associations that reference them.
    mutating func removeGone(_ gone: [DiscoveryDecision.Gone]) throws {
        guard !gone.isEmpty else { return }
        var cause: [Int64: (item: Int, severity: Severity)] = [:]
        for g in gone where cause[g.id] == nil { cause[g.id] = (g.item, g.severity) }
        let goneIDs = gone.map(\.id)
        try connection.execute(
            """
            DELETE FROM cimdb.instance_source s USING unnest(\(gone.map(\.node)), \(gone.map(\.settings)), \(goneIDs)) AS g (node, settings, id)
            WHERE s.node = g.node AND s.settings = g.settings AND s.instance_id = g.id
            """)
        let orphans = try connection.execute(
            """
            SELECT g.id FROM unnest(\(Array(Set(goneIDs)))) AS g (id)
            WHERE NOT EXISTS (SELECT 1 FROM cimdb.instance_source s WHERE s.instance_id = g.id)
            """
        ).compactMap { $0.int64(0) }
        var deleting = Set(orphans)
        // Associations that go with them (reported by other nodes, or by scripts that did not
        // run this time): deleted by the database's cascade, reported here.
        for association in try cascade.associations(referencing: orphans, on: connection) where !deleting.contains(association.id) {
            deleting.insert(association.id)
            if cause[association.id] == nil, let c = cause[association.target] { cause[association.id] = c }
        }
        var deletedIDs: Set<Int64> = []
        if !deleting.isEmpty {
            let deleted = try connection.execute(
                "DELETE FROM cimdb.instance WHERE id = ANY(\(deleting.sorted())) RETURNING id, class_name, path")
            // Events: associations first (they go because an end went), then instances, each in
            // the order they were created.
            let catalog = self.catalog
            let isAssociation = { (row: Row) in row.string(1).flatMap { catalog.class(named: $0)?.isAssociation } ?? false }
            let ordered = deleted.sorted { a, b in
                let (x, y) = (isAssociation(a), isAssociation(b))
                return x != y ? x : (a.int64(0) ?? 0) < (b.int64(0) ?? 0)
            }
            for row in ordered {
                guard let id = row.int64(0), let c = cause[id] else { continue }
                deletedIDs.insert(id)
                tally(c.item) { $0.deleted += 1 }
                events.add(summaries[c.item]?.node ?? "", "deleted", row.string(1) ?? "", row.string(2) ?? "", severity: c.severity)
            }
        }
        // Instances a node stopped reporting that other nodes still report.
        for id in goneIDs where !deletedIDs.contains(id) {
            if let c = cause[id] { tally(c.item) { $0.detached += 1 } }
        }
    }

    /// Update monitors follow the first and the last instance of a settings object on a node.
    mutating func maintainDeployments(
        emptied: [(item: Int, node: String, settings: String)], filled: [(item: Int, node: String, settings: String)]
    ) throws {
        var itemOf: [String: Int] = [:]
        for e in emptied + filled { itemOf[e.node] = e.item }
        if !emptied.isEmpty {
            for row in try connection.execute(
                """
                DELETE FROM cimdb.update_deployment d USING unnest(\(emptied.map(\.node)), \(emptied.map(\.settings))) AS u (node, settings)
                WHERE d.node = u.node AND d.settings = u.settings RETURNING d.node
                """)
            {
                if let node = row.string(0), let index = itemOf[node] { tally(index) { $0.removedUpdateMonitors += 1 } }
            }
        }
        if !filled.isEmpty {
            for row in try connection.execute(
                """
                INSERT INTO cimdb.update_deployment (node, settings, property_name, update_script, update_period_ms, update_timeout_ms, changed_severity)
                SELECT u.node, p.settings, p.property_name, p.update_script, p.update_period_ms, p.update_timeout_ms, p.changed_severity
                FROM unnest(\(filled.map(\.node)), \(filled.map(\.settings))) AS u (node, settings) JOIN cimdb.inventory_property p ON p.settings = u.settings
                ON CONFLICT (node, settings, property_name) DO NOTHING
                RETURNING node
                """)
            {
                if let node = row.string(0), let index = itemOf[node] { tally(index) { $0.deployedUpdateMonitors += 1 } }
            }
        }
    }

    /// The digests of the outputs applied (the next identical output is not parsed again), and
    /// the update monitors of changed settings made to apply their next output in full (an
    /// instance that came back needs its values even if the update output looks the same).
    func recordState(_ states: [(node: String, settings: String, monitor: String, digest: String, count: Int)]) throws {
        guard !states.isEmpty else { return }
        let nodes = states.map(\.node), settings = states.map(\.settings)
        try connection.execute(
            """
            INSERT INTO cimdb.discovery_state (node, settings, monitor, digest, instance_count, applied_at)
            SELECT u.node, u.settings, u.monitor, u.digest, u.count, now()
            FROM unnest(\(nodes), \(settings), \(states.map(\.monitor)), \(states.map(\.digest)), \(states.map { String($0.count) })::integer[]) AS u (node, settings, monitor, digest, count)
            ON CONFLICT (node, settings) DO UPDATE
            SET monitor = EXCLUDED.monitor, digest = EXCLUDED.digest, instance_count = EXCLUDED.instance_count, applied_at = EXCLUDED.applied_at
            """)
        try connection.execute(
            """
            UPDATE cimdb.update_run r SET digest = '', line_hashes = NULL FROM unnest(\(nodes), \(settings)) AS u (node, settings)
            WHERE r.node = u.node AND r.settings = u.settings AND (r.digest <> '' OR r.line_hashes IS NOT NULL)
            """)
    }

    /// The nodes' last discovery time and the monitors' last sequence numbers.
    func recordRuns(_ results: [DiscoveryResult]) throws {
        guard !results.isEmpty else { return }
        try connection.execute(
            """
            INSERT INTO cimdb.node (name, last_discovery_at) SELECT DISTINCT unnest(\(results.map(\.node))), now()
            ON CONFLICT (name) DO UPDATE SET last_discovery_at = EXCLUDED.last_discovery_at
            """)
        let sequenced = results.filter { $0.sequence > 0 }
        guard !sequenced.isEmpty else { return }
        try connection.execute(
            """
            INSERT INTO cimdb.discovery_run (node, monitor, sequence, applied_at)
            SELECT u.node, u.monitor, u.sequence, now() FROM unnest(\(sequenced.map(\.node)), \(sequenced.map(\.monitor)), \(sequenced.map { String($0.sequence) })::bigint[]) AS u (node, monitor, sequence)
            ON CONFLICT (node, monitor) DO UPDATE SET sequence = EXCLUDED.sequence, applied_at = EXCLUDED.applied_at
            """)
    }
}
