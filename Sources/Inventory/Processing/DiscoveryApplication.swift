import CIM
import ORM
import Store

/// The database half of applying one discovery result: the node's current instances, the
/// differences, and the writes, inside the caller's transaction.
struct DiscoveryApplication {
    let plan: DiscoveryPlan
    let catalog: ModelCatalog
    let connection: Connection
    var node: String { plan.result.node }

    /// What the node reports now, per settings: path → id, instances and associations apart.
    var currentInstances: [String: [String: Int64]] = [:]
    var currentAssociations: [String: [String: Int64]] = [:]
    /// The class of every instance the node reports, by path.
    var classOf: [String: String] = [:]

    init(plan: DiscoveryPlan, catalog: ModelCatalog, connection: Connection) {
        self.plan = plan
        self.catalog = catalog
        self.connection = connection
    }

    mutating func loadNodeState() throws {
        for row in try connection.execute("""
            SELECT s.settings, s.instance_id, i.path, i.class_name
            FROM cimdb.instance_source s JOIN cimdb.instance i ON i.id = s.instance_id
            WHERE s.node = $1
            """, [SQLValue(node)]) {
            guard let settings = row["settings"], let id = row.int64("instance_id"), let path = row["path"], let cls = row["class_name"] else { continue }
            if catalog.class(named: cls)?.isAssociation == true {
                currentAssociations[settings, default: [:]][path] = id
            } else {
                currentInstances[settings, default: [:]][path] = id
            }
            classOf[path] = cls
        }
    }

    var changedRuns: [DiscoveryPlan.SettingsPlan] { plan.runs.filter { !$0.unchanged } }

    /// The instance paths the node reports once this result is applied.
    func instancesAfter() -> Set<String> {
        var paths: Set<String> = []
        let changed = Set(changedRuns.map(\.settings.id))
        for (settings, instances) in currentInstances where !changed.contains(settings) { paths.formUnion(instances.keys) }
        for run in changedRuns { paths.formUnion(run.instances.map(\.path)) }
        return paths
    }

    /// Associations may only point at instances the node reports (after this result).
    func checkReferences() -> [String] {
        let after = instancesAfter()
        var errors: [String] = []
        for run in changedRuns {
            for association in run.associations {
                for (property, value) in association.keys where property.isReference {
                    guard case .reference(let target) = value, !after.contains(target) else { continue }
                    errors.append("node \(node), monitor \(plan.result.monitor), settings \(run.settings.id), association output line \(association.line), column 1: \(association.cls.name).\(property.name) refers to \(target), which node \(node) does not report")
                }
            }
        }
        return errors
    }

    mutating func write() throws -> DiscoverySummary {
        var summary = DiscoverySummary(node: node, monitor: plan.result.monitor)
        summary.unchangedSettings = plan.runs.filter(\.unchanged).map(\.settings.id)
        summary.skippedSettings = plan.runs.filter { $0.skipped && !$0.unchanged }.map(\.settings.id)
        summary.failedSettings = plan.failed
        var events = EventBatch()
        try connection.execute("INSERT INTO cimdb.node (name, last_discovery_at) VALUES ($1, now()) ON CONFLICT (name) DO UPDATE SET last_discovery_at = now()",
                               [SQLValue(node)])

        // 1. New instances: created, or attached when another node already reports them.
        var pathToID: [String: Int64] = [:]
        for (_, instances) in currentInstances { pathToID.merge(instances) { a, _ in a } }
        var additions: [(settings: DiscoveryPlan.SettingsPlan, paths: [String])] = []
        for run in changedRuns {
            let current = currentInstances[run.settings.id] ?? [:]
            let fresh = run.instances.filter { current[$0.path] == nil }
            let ids = try ensureInstances(fresh.map { ($0.path, $0.keys) }, of: run.cls, severity: run.settings.createdSeverity,
                                          events: &events, summary: &summary)
            pathToID.merge(ids) { a, _ in a }
            additions.append((run, fresh.map(\.path)))
        }
        for (run, paths) in additions where !paths.isEmpty {
            try attach(paths.compactMap { pathToID[$0] }, settings: run.settings.id)
        }

        // 2. New associations, their references resolved to the node's instances.
        for run in changedRuns {
            let current = currentAssociations[run.settings.id] ?? [:]
            let fresh = run.associations.filter { current[$0.path] == nil }
            var byClass: [String: [DiscoveryPlan.PlannedAssociation]] = [:]
            for a in fresh { byClass[a.cls.name, default: []].append(a) }
            var attachedIDs: [Int64] = []
            for (_, associations) in byClass.sorted(by: { $0.key < $1.key }) {
                let cls = associations[0].cls
                let rows = associations.map { a -> (String, [(PropertyMapping, Value)]) in
                    (a.path, a.keys.map { property, value in
                        if property.isReference, case .reference(let target) = value { return (property, .signed(pathToID[target] ?? 0)) }
                        return (property, value)
                    })
                }
                let ids = try ensureInstances(rows, of: cls, severity: run.settings.createdSeverity, events: &events, summary: &summary)
                attachedIDs += associations.compactMap { ids[$0.path] }
            }
            if !attachedIDs.isEmpty { try attach(attachedIDs, settings: run.settings.id) }
        }

        // 3. What the node stopped reporting: associations first, then instances.
        for run in changedRuns {
            let reported = Set(run.associations.map(\.path))
            let gone = (currentAssociations[run.settings.id] ?? [:]).filter { !reported.contains($0.key) }.map(\.value)
            try detach(gone, settings: run.settings.id, severity: run.settings.deletedSeverity, events: &events, summary: &summary)
        }
        for run in changedRuns {
            let reported = Set(run.instances.map(\.path))
            let gone = (currentInstances[run.settings.id] ?? [:]).filter { !reported.contains($0.key) }.map(\.value)
            try detach(gone, settings: run.settings.id, severity: run.settings.deletedSeverity, events: &events, summary: &summary)
        }

        // 4. Update monitors follow the first and the last instance of a settings object on the node.
        for run in changedRuns {
            if run.instances.isEmpty {
                summary.removedUpdateMonitors += try connection.execute(
                    "DELETE FROM cimdb.update_deployment WHERE node = $1 AND settings = $2", [SQLValue(node), SQLValue(run.settings.id)]).affectedRows
            } else {
                summary.deployedUpdateMonitors += try connection.execute("""
                    INSERT INTO cimdb.update_deployment (node, settings, property_name, update_script, update_period_ms, update_timeout_ms, changed_severity)
                    SELECT $1, settings, property_name, update_script, update_period_ms, update_timeout_ms, changed_severity
                    FROM cimdb.inventory_property WHERE settings = $2
                    ON CONFLICT (node, settings, property_name) DO NOTHING
                    """, [SQLValue(node), SQLValue(run.settings.id)]).affectedRows
            }
            try connection.execute("""
                INSERT INTO cimdb.discovery_state (node, settings, monitor, digest, instance_count, applied_at)
                VALUES ($1, $2, $3, $4, $5, now())
                ON CONFLICT (node, settings) DO UPDATE SET monitor = $3, digest = $4, instance_count = $5, applied_at = now()
                """, [SQLValue(node), SQLValue(run.settings.id), SQLValue(plan.result.monitor), SQLValue(run.digest), SQLValue(run.instances.count)])
        }
        if plan.result.sequence > 0 {
            try connection.execute("""
                INSERT INTO cimdb.discovery_run (node, monitor, sequence) VALUES ($1, $2, $3)
                ON CONFLICT (node, monitor) DO UPDATE SET sequence = $3, applied_at = now()
                """, [SQLValue(node), SQLValue(plan.result.monitor), SQLValue(plan.result.sequence)])
        }
        summary.events = try events.write(on: connection)
        return summary
    }

    /// The ids of the given instances: existing ones (reported by another node, or under
    /// another settings object) are looked up; the others are created with their key values.
    mutating func ensureInstances(
        _ rows: [(path: String, keys: [(PropertyMapping, Value)])], of cls: ClassMapping, severity: Severity,
        events: inout EventBatch, summary: inout DiscoverySummary
    ) throws -> [String: Int64] {
        guard !rows.isEmpty else { return [:] }
        var ids: [String: Int64] = [:]
        for row in try connection.execute("SELECT id, path FROM cimdb.instance WHERE path = ANY($1)", [SQLValue(array: rows.map(\.path))]) {
            if let id = row.int64("id"), let path = row["path"] { ids[path] = id }
        }
        summary.attached += ids.count
        let missing = rows.filter { ids[$0.path] == nil }
        guard !missing.isEmpty else { return ids }
        let columns = missing[0].keys.map(\.0)
        let created = try BulkLoader(cls: cls, columns: columns).insert(missing.map { $0.keys.map(\.1) }, paths: missing.map(\.path), on: connection)
        for (row, id) in zip(missing, created) {
            ids[row.path] = id
            events.add(node, "created", cls.name, row.path, severity: severity)
        }
        summary.created += created.count
        return ids
    }

    func attach(_ ids: [Int64], settings: String) throws {
        try connection.execute("""
            INSERT INTO cimdb.instance_source (node, settings, instance_id) SELECT $1, $2, unnest($3::bigint[])
            ON CONFLICT DO NOTHING
            """, [SQLValue(node), SQLValue(settings), SQLValue(array: ids.map { String($0) })])
    }

    /// The node no longer reports these: its sources go; instances no node reports are deleted
    /// (their associations with them, by cascade).
    func detach(_ ids: [Int64], settings: String, severity: Severity, events: inout EventBatch, summary: inout DiscoverySummary) throws {
        guard !ids.isEmpty else { return }
        let array = SQLValue(array: ids.map { String($0) })
        try connection.execute("DELETE FROM cimdb.instance_source WHERE node = $1 AND settings = $2 AND instance_id = ANY($3::bigint[])",
                               [SQLValue(node), SQLValue(settings), array])
        let deleted = try connection.execute("""
            DELETE FROM cimdb.instance i WHERE i.id = ANY($1::bigint[])
              AND NOT EXISTS (SELECT 1 FROM cimdb.instance_source s WHERE s.instance_id = i.id)
            RETURNING i.class_name, i.path
            """, [array])
        for row in deleted {
            events.add(node, "deleted", row["class_name"] ?? "", row["path"] ?? "", severity: severity)
        }
        summary.deleted += deleted.count
        summary.detached += ids.count - deleted.count
    }
}
