import CIM
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// One round of a discovery batch (no node twice), inside the caller's transaction: every
/// result is checked first — monitor, sequence, outputs, references — then everything the
/// accepted ones ask for is written with a fixed number of set-based statements.
struct DiscoveryRound {
    let processor: DiscoveryProcessor
    let cascade: CascadeFinder
    let deliveries: [Delivery<DiscoveryResult>]
    let connection: Connection
    var catalog: ModelCatalog { processor.catalog }

    var outcomes: [DiscoveryOutcome?]
    /// The accepted results, by position in the round.
    var plans: [Int: DiscoveryPlan] = [:]
    /// What each node reported before this round (for the nodes whose outputs changed).
    var nodeStates: [String: NodeState] = [:]
    /// Instance ids by canonical path: the nodes' current instances, found and created ones.
    var ids: [String: Int64] = [:]
    var summaries: [Int: DiscoverySummary] = [:]
    var events = EventBatch()

    /// What a node reports, per settings id: path → id, instances and associations apart.
    struct NodeState {
        var instances: [String: [String: Int64]] = [:]
        var associations: [String: [String: Int64]] = [:]
    }

    init(processor: DiscoveryProcessor, cascade: CascadeFinder, deliveries: [Delivery<DiscoveryResult>], connection: Connection) {
        self.processor = processor
        self.cascade = cascade
        self.deliveries = deliveries
        self.connection = connection
        self.outcomes = Array(repeating: nil, count: deliveries.count)
    }

    mutating func run() throws -> [DiscoveryOutcome] {
        try IndexProbes.only(on: connection)
        try check()
        try loadNodeStates()
        try checkReferences()
        try write()
        return outcomes.map { $0! }
    }

    // MARK: - Checks

    mutating func reject(_ index: Int, _ errors: [String]) throws {
        let result = deliveries[index].result
        let id = try Rejection.record(kind: "discovery", node: result.node, monitor: result.monitor, settings: nil, property: nil,
                                      raw: deliveries[index].raw ?? Envelope.encode(result), errors: errors, on: connection)
        outcomes[index] = .rejected(id: id, errors: errors)
        plans[index] = nil
    }

    /// Monitors, sequence numbers and the outputs themselves.
    mutating func check() throws {
        let results = deliveries.map(\.result)
        var snapshots: [String: MonitorSnapshot] = [:]
        for row in try connection.execute("SELECT name, snapshot::text FROM cimdb.discovery_monitor WHERE name = ANY(\(Array(Set(results.map(\.monitor)))))") {
            if let name = row.string(0), let snapshot = row.string(1).flatMap(MonitorSnapshot.decode) { snapshots[name] = snapshot }
        }
        let sequenced = results.filter { $0.sequence > 0 }
        var lastSequence: [String: [String: Int64]] = [:]
        if !sequenced.isEmpty {
            for row in try connection.execute("""
                SELECT r.node, r.monitor, r.sequence FROM cimdb.discovery_run r
                JOIN unnest(\(sequenced.map(\.node)), \(sequenced.map(\.monitor))) AS u (node, monitor) ON r.node = u.node AND r.monitor = u.monitor
                FOR UPDATE OF r
                """) {
                if let node = row.string(0), let monitor = row.string(1), let sequence = row.int64(2) { lastSequence[node, default: [:]][monitor] = sequence }
            }
        }
        var applied: [String: [String: (digest: String, count: Int)]] = [:]
        for row in try connection.execute("SELECT node, settings, digest, instance_count FROM cimdb.discovery_state WHERE node = ANY(\(results.map(\.node)))") {
            if let node = row.string(0), let settings = row.string(1), let digest = row.string(2) {
                applied[node, default: [:]][settings] = (digest, row.int(3) ?? 0)
            }
        }
        for (index, result) in results.enumerated() {
            guard let snapshot = snapshots[result.monitor] else {
                try reject(index, ["node \(result.node): unknown discovery monitor \(result.monitor)"])
                continue
            }
            if result.sequence > 0, let last = lastSequence[result.node]?[result.monitor], last >= result.sequence {
                outcomes[index] = .duplicate(sequence: result.sequence, lastApplied: last)
                continue
            }
            let plan = DiscoveryPlan(result, snapshot: snapshot, catalog: catalog, applied: applied[result.node] ?? [:],
                                     maximumOutputBytes: processor.maximumOutputBytes)
            if !plan.errors.isEmpty {
                try reject(index, plan.errors)
                continue
            }
            plans[index] = plan
        }
    }

    /// The current instances of every node whose outputs changed, in one query.
    mutating func loadNodeStates() throws {
        let nodes = plans.values.filter { !$0.changedRuns.isEmpty }.map(\.result.node)
        guard !nodes.isEmpty else { return }
        var isAssociation: [String: Bool] = [:]
        for row in try connection.execute("""
            SELECT s.node, s.settings, s.instance_id, i.path, i.class_name
            FROM cimdb.instance_source s JOIN cimdb.instance i ON i.id = s.instance_id
            WHERE s.node = ANY(\(nodes))
            """) {
            guard let node = row.string(0), let settings = row.string(1), let id = row.int64(2), let path = row.string(3), let cls = row.string(4) else { continue }
            let association = isAssociation[cls] ?? {
                let value = catalog.class(named: cls)?.isAssociation == true
                isAssociation[cls] = value
                return value
            }()
            if association {
                nodeStates[node, default: NodeState()].associations[settings, default: [:]][path] = id
            } else {
                nodeStates[node, default: NodeState()].instances[settings, default: [:]][path] = id
            }
            ids[path] = id
        }
    }

    /// Associations may only point at instances the node reports once its result is applied —
    /// those its changed outputs report, and those of the settings whose outputs did not change.
    mutating func checkReferences() throws {
        for (index, plan) in plans.sorted(by: { $0.key < $1.key }) where !plan.changedRuns.isEmpty {
            let node = plan.result.node
            let state = nodeStates[node] ?? NodeState()
            let changed = Set(plan.changedRuns.map(\.settings.id))
            var after: Set<String> = []
            for (settings, instances) in state.instances where !changed.contains(settings) { after.formUnion(instances.keys) }
            for run in plan.changedRuns { after.formUnion(run.instances.map(\.path)) }
            var errors: [String] = []
            for run in plan.changedRuns {
                for association in run.associations {
                    for (property, value) in association.keys where property.isReference {
                        guard case .reference(let target) = value, !after.contains(target) else { continue }
                        errors.append("node \(node), monitor \(plan.result.monitor), settings \(run.settings.id), association output line \(association.line), column 1: \(association.cls.name).\(property.name) refers to \(target), which node \(node) does not report")
                    }
                }
            }
            // An unchanged association output that still names an instance the node stopped
            // reporting is inconsistent too (a failed or not-run script is not: its associations
            // go with the instance).
            let gone = plan.changedRuns.flatMap { run in (state.instances[run.settings.id] ?? [:]).keys.filter { !after.contains($0) } }
            if !gone.isEmpty {
                let goneSet = Set(gone)
                var canonicalizer = PathCanonicalizer(catalog: catalog)
                for run in plan.runs where run.unchanged && !run.skipped {
                    for path in (state.associations[run.settings.id] ?? [:]).keys.sorted() {
                        guard let parsed = try? InstancePath.parse(path), let canonical = try? canonicalizer.canonical(parsed) else { continue }
                        for (property, value) in canonical.keys where property.isReference {
                            guard case .reference(let target) = value, goneSet.contains(target) else { continue }
                            errors.append("node \(node), monitor \(plan.result.monitor), settings \(run.settings.id): the association output (unchanged since the last run) reports \(path), whose \(property.name) is \(target), which node \(node) no longer reports")
                        }
                    }
                }
            }
            if !errors.isEmpty { try reject(index, errors) }
        }
    }

    // MARK: - Writes

    mutating func write() throws {
        let accepted = plans.keys.sorted()
        for index in accepted { summaries[index] = DiscoverySummary(node: deliveries[index].result.node, monitor: deliveries[index].result.monitor) }
        for index in accepted {
            let plan = plans[index]!
            summaries[index]!.unchangedSettings = plan.runs.filter(\.unchanged).map(\.settings.id)
            summaries[index]!.skippedSettings = plan.runs.filter { $0.skipped && !$0.unchanged }.map(\.settings.id)
            summaries[index]!.failedSettings = plan.failed
        }
        let changed = accepted.filter { !plans[$0]!.changedRuns.isEmpty }

        try addInstances(changed)
        try addAssociations(changed)
        try removeGone(changed)
        try maintainDeployments(changed)
        try recordState(changed)
        try recordRuns(accepted)
        let eventCounts = events.events.reduce(into: [String: Int]()) { $0[$1.node, default: 0] += 1 }
        _ = try events.finish(on: connection)
        for index in accepted {
            summaries[index]!.events = eventCounts[summaries[index]!.node] ?? 0
            outcomes[index] = .applied(summaries[index]!)
        }
    }

    /// New instances (not yet reported by the node under that settings object): created, or
    /// attached when another node (or another settings object) already reports them.
    mutating func addInstances(_ changed: [Int]) throws {
        var wanted: [Wanted] = []
        for index in changed {
            let plan = plans[index]!
            let state = nodeStates[plan.result.node] ?? NodeState()
            for run in plan.changedRuns {
                let current = state.instances[run.settings.id] ?? [:]
                for instance in run.instances where current[instance.path] == nil {
                    wanted.append(Wanted(item: index, settings: run.settings, cls: run.cls, path: instance.path, keys: instance.keys))
                }
            }
        }
        try ensure(wanted)
    }

    /// New associations, their references resolved to the ids of the node's instances.
    mutating func addAssociations(_ changed: [Int]) throws {
        var wanted: [Wanted] = []
        for index in changed {
            let plan = plans[index]!
            let state = nodeStates[plan.result.node] ?? NodeState()
            for run in plan.changedRuns {
                let current = state.associations[run.settings.id] ?? [:]
                for association in run.associations where current[association.path] == nil {
                    let keys = association.keys.map { property, value -> (PropertyMapping, Value) in
                        if property.isReference, case .reference(let target) = value { return (property, .signed(ids[target] ?? 0)) }
                        return (property, value)
                    }
                    wanted.append(Wanted(item: index, settings: run.settings, cls: association.cls, path: association.path, keys: keys))
                }
            }
        }
        try ensure(wanted)
    }

    struct Wanted {
        var item: Int
        var settings: MonitorSnapshot.Settings
        var cls: ClassMapping
        var path: String
        var keys: [(PropertyMapping, Value)]
    }

    /// Looks up the wanted paths, creates the missing ones (class by class, one COPY each) and
    /// records the node as a source of all of them.
    mutating func ensure(_ wanted: [Wanted]) throws {
        guard !wanted.isEmpty else { return }
        let unknown = Array(Set(wanted.map(\.path).filter { ids[$0] == nil }))
        if !unknown.isEmpty {
            for row in try connection.execute("SELECT id, path FROM cimdb.instance WHERE path = ANY(\(unknown))") {
                if let id = row.int64(0), let path = row.string(1) { ids[path] = id }
            }
        }
        // Missing ones, once each (the first node to report an instance creates it), grouped by
        // class and key order.
        var creating: [String: [Wanted]] = [:]
        var order: [String] = []
        var claimed: Set<String> = []
        for w in wanted {
            if ids[w.path] != nil {
                summaries[w.item]!.attached += 1
                continue
            }
            guard claimed.insert(w.path).inserted else {
                summaries[w.item]!.attached += 1  // created by an earlier result of this batch
                continue
            }
            let group = w.cls.name + "\u{0}" + w.keys.map(\.0.name).joined(separator: ",")
            if creating[group] == nil { order.append(group) }
            creating[group, default: []].append(w)
        }
        for group in order {
            let rows = creating[group]!
            let created = try BulkLoader(cls: rows[0].cls, columns: rows[0].keys.map(\.0))
                .insert(rows.map { $0.keys.map(\.1) }, paths: rows.map(\.path), on: connection)
            for (w, id) in zip(rows, created) {
                ids[w.path] = id
                summaries[w.item]!.created += 1
                events.add(summaries[w.item]!.node, "created", w.cls.name, w.path, severity: w.settings.createdSeverity)
            }
        }
        try connection.copyIn("COPY cimdb.instance_source (node, settings, instance_id) FROM STDIN") { writer in
            var seen: Set<String> = []
            for w in wanted {
                let node = summaries[w.item]!.node, id = ids[w.path]!
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
    mutating func removeGone(_ changed: [Int]) throws {
        var nodes: [String] = [], settings: [String] = [], goneIDs: [Int64] = []
        var cause: [Int64: (item: Int, severity: Severity)] = [:]
        for index in changed {
            let plan = plans[index]!
            let state = nodeStates[plan.result.node] ?? NodeState()
            for run in plan.changedRuns {
                let reported = Set(run.instances.map(\.path)).union(run.associations.map(\.path))
                let current = (state.associations[run.settings.id] ?? [:]).merging(state.instances[run.settings.id] ?? [:]) { a, _ in a }
                for (path, id) in current where !reported.contains(path) {
                    nodes.append(plan.result.node)
                    settings.append(run.settings.id)
                    goneIDs.append(id)
                    if cause[id] == nil { cause[id] = (index, run.settings.deletedSeverity) }
                }
            }
        }
        guard !goneIDs.isEmpty else { return }
        try connection.execute("""
            DELETE FROM cimdb.instance_source s USING unnest(\(nodes), \(settings), \(goneIDs)) AS g (node, settings, id)
            WHERE s.node = g.node AND s.settings = g.settings AND s.instance_id = g.id
            """)
        let orphans = try connection.execute("""
            SELECT g.id FROM unnest(\(Array(Set(goneIDs)))) AS g (id)
            WHERE NOT EXISTS (SELECT 1 FROM cimdb.instance_source s WHERE s.instance_id = g.id)
            """).compactMap { $0.int64(0) }
        var deleting = Set(orphans)
        // Associations that go with them (reported by other nodes, or by scripts that did not
        // run this time): deleted by the database's cascade, reported here.
        for association in try cascade.associations(referencing: orphans, on: connection) where !deleting.contains(association.id) {
            deleting.insert(association.id)
            if cause[association.id] == nil, let c = cause[association.target] { cause[association.id] = c }
        }
        guard !deleting.isEmpty else { return tallyDetached(goneIDs: goneIDs, cause: cause, deleted: []) }
        let deleted = try connection.execute(
            "DELETE FROM cimdb.instance WHERE id = ANY(\(deleting.sorted())) RETURNING id, class_name, path")
        var deletedIDs: Set<Int64> = []
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
            summaries[c.item]!.deleted += 1
            events.add(summaries[c.item]!.node, "deleted", row.string(1) ?? "", row.string(2) ?? "", severity: c.severity)
        }
        tallyDetached(goneIDs: goneIDs, cause: cause, deleted: deletedIDs)
    }

    /// Instances a node stopped reporting that other nodes still report.
    mutating func tallyDetached(goneIDs: [Int64], cause: [Int64: (item: Int, severity: Severity)], deleted: Set<Int64>) {
        for id in goneIDs where !deleted.contains(id) {
            if let c = cause[id] { summaries[c.item]!.detached += 1 }
        }
    }

    /// Update monitors follow the first and the last instance of a settings object on a node.
    mutating func maintainDeployments(_ changed: [Int]) throws {
        var emptyNodes: [String] = [], emptySettings: [String] = [], fullNodes: [String] = [], fullSettings: [String] = []
        var itemOf: [String: Int] = [:]
        for index in changed {
            let plan = plans[index]!
            itemOf[plan.result.node] = index
            for run in plan.changedRuns {
                if run.instances.isEmpty {
                    emptyNodes.append(plan.result.node)
                    emptySettings.append(run.settings.id)
                } else {
                    fullNodes.append(plan.result.node)
                    fullSettings.append(run.settings.id)
                }
            }
        }
        if !emptyNodes.isEmpty {
            for row in try connection.execute("""
                DELETE FROM cimdb.update_deployment d USING unnest(\(emptyNodes), \(emptySettings)) AS u (node, settings)
                WHERE d.node = u.node AND d.settings = u.settings RETURNING d.node
                """) {
                if let node = row.string(0), let index = itemOf[node] { summaries[index]!.removedUpdateMonitors += 1 }
            }
        }
        if !fullNodes.isEmpty {
            for row in try connection.execute("""
                INSERT INTO cimdb.update_deployment (node, settings, property_name, update_script, update_period_ms, update_timeout_ms, changed_severity)
                SELECT u.node, p.settings, p.property_name, p.update_script, p.update_period_ms, p.update_timeout_ms, p.changed_severity
                FROM unnest(\(fullNodes), \(fullSettings)) AS u (node, settings) JOIN cimdb.inventory_property p ON p.settings = u.settings
                ON CONFLICT (node, settings, property_name) DO NOTHING
                RETURNING node
                """) {
                if let node = row.string(0), let index = itemOf[node] { summaries[index]!.deployedUpdateMonitors += 1 }
            }
        }
    }

    /// The digests of the outputs applied (the next identical output is not parsed again), and
    /// the update monitors of changed settings made to apply their next output in full (an
    /// instance that came back needs its values even if the update output looks the same).
    func recordState(_ changed: [Int]) throws {
        var nodes: [String] = [], settings: [String] = [], monitors: [String] = [], digests: [String] = [], counts: [String] = []
        for index in changed {
            let plan = plans[index]!
            for run in plan.changedRuns {
                nodes.append(plan.result.node)
                settings.append(run.settings.id)
                monitors.append(plan.result.monitor)
                digests.append(run.digest)
                counts.append(String(run.instances.count))
            }
        }
        guard !nodes.isEmpty else { return }
        try connection.execute("""
            INSERT INTO cimdb.discovery_state (node, settings, monitor, digest, instance_count, applied_at)
            SELECT u.node, u.settings, u.monitor, u.digest, u.count, now()
            FROM unnest(\(nodes), \(settings), \(monitors), \(digests), \(counts)::integer[]) AS u (node, settings, monitor, digest, count)
            ON CONFLICT (node, settings) DO UPDATE
            SET monitor = EXCLUDED.monitor, digest = EXCLUDED.digest, instance_count = EXCLUDED.instance_count, applied_at = EXCLUDED.applied_at
            """)
        try connection.execute("""
            UPDATE cimdb.update_run r SET digest = '', line_hashes = NULL FROM unnest(\(nodes), \(settings)) AS u (node, settings)
            WHERE r.node = u.node AND r.settings = u.settings AND (r.digest <> '' OR r.line_hashes IS NOT NULL)
            """)
    }

    /// The nodes' last discovery time and the monitors' last sequence numbers.
    func recordRuns(_ accepted: [Int]) throws {
        guard !accepted.isEmpty else { return }
        let results = accepted.map { plans[$0]!.result }
        try connection.execute("""
            INSERT INTO cimdb.node (name, last_discovery_at) SELECT DISTINCT unnest(\(results.map(\.node))), now()
            ON CONFLICT (name) DO UPDATE SET last_discovery_at = EXCLUDED.last_discovery_at
            """)
        let sequenced = results.filter { $0.sequence > 0 }
        guard !sequenced.isEmpty else { return }
        try connection.execute("""
            INSERT INTO cimdb.discovery_run (node, monitor, sequence, applied_at)
            SELECT u.node, u.monitor, u.sequence, now() FROM unnest(\(sequenced.map(\.node)), \(sequenced.map(\.monitor)), \(sequenced.map { String($0.sequence) })::bigint[]) AS u (node, monitor, sequence)
            ON CONFLICT (node, monitor) DO UPDATE SET sequence = EXCLUDED.sequence, applied_at = EXCLUDED.applied_at
            """)
    }
}

extension DiscoveryPlan {
    /// The settings whose outputs are to be applied (not unchanged since the last run).
    var changedRuns: [SettingsPlan] { runs.filter { !$0.unchanged } }
}
