import CIM
import ORM
import Store

/// What applying a discovery result did.
public struct DiscoverySummary: Sendable, Hashable, CustomStringConvertible {
    public var node: String
    public var monitor: String
    /// Instances and associations created, and deleted (reported by no node any more).
    public var created = 0
    public var deleted = 0
    /// Instances another node already reported, now reported by this node too; and instances
    /// this node stopped reporting that other nodes still report.
    public var attached = 0
    public var detached = 0
    public var unchangedSettings: [String] = []
    public var skippedSettings: [String] = []
    public var failedSettings: [String] = []
    public var deployedUpdateMonitors = 0
    public var removedUpdateMonitors = 0
    public var events = 0

    public var description: String {
        var parts = ["\(created) created", "\(deleted) deleted"]
        if attached > 0 { parts.append("\(attached) also reported by other nodes") }
        if detached > 0 { parts.append("\(detached) still reported by other nodes") }
        if deployedUpdateMonitors > 0 { parts.append("\(deployedUpdateMonitors) update monitors deployed") }
        if removedUpdateMonitors > 0 { parts.append("\(removedUpdateMonitors) update monitors removed") }
        if !unchangedSettings.isEmpty { parts.append("unchanged: \(unchangedSettings.joined(separator: ", "))") }
        if !skippedSettings.isEmpty { parts.append("skipped (parent found nothing): \(skippedSettings.joined(separator: ", "))") }
        if !failedSettings.isEmpty { parts.append("failed on the node, left as they were: \(failedSettings.joined(separator: ", "))") }
        parts.append("\(events) events")
        return "node \(node), monitor \(monitor): " + parts.joined(separator: "; ")
    }
}

public enum DiscoveryOutcome: Sendable, Hashable {
    case applied(DiscoverySummary)
    /// The node's monitor already had this sequence number (or a later one) applied.
    case duplicate(sequence: Int64, lastApplied: Int64)
    /// Nothing was applied; the raw result is kept in `cimdb.rejected_result` under `id`.
    case rejected(id: Int64, errors: [String])
}

/// Applies discovery results (SPEC §5), each atomically and idempotently: instances a node no
/// longer reports are deleted with every association that references them (unless another
/// node still reports them), new ones are created, events are emitted per the settings'
/// severities, update monitors are deployed where a settings object gets its first instance on
/// a node and removed with its last. Bad input is rejected with node, monitor, settings, line
/// and column, and kept.
public struct DiscoveryProcessor: Sendable {
    public var catalog: ModelCatalog
    /// Outputs larger than this are rejected (agents cap what they send at the same size).
    public var maximumOutputBytes: Int
    public static let defaultMaximumOutputBytes = 16 << 20

    public init(catalog: ModelCatalog, maximumOutputBytes: Int = DiscoveryProcessor.defaultMaximumOutputBytes) {
        self.catalog = catalog
        self.maximumOutputBytes = maximumOutputBytes
    }

    /// Applies one result. `raw` is what was received (kept if the result is rejected).
    public func apply(_ result: DiscoveryResult, raw: [UInt8]? = nil, on connection: Connection) throws -> DiscoveryOutcome {
        let rejected = { (errors: [String], connection: Connection) throws -> DiscoveryOutcome in
            let id = try Rejection.record(kind: "discovery", node: result.node, monitor: result.monitor, settings: nil, property: nil,
                                          raw: raw ?? Envelope.encode(result), errors: errors, on: connection)
            return .rejected(id: id, errors: errors)
        }
        return try connection.transaction { connection in
            guard let snapshotText = try connection.execute("SELECT snapshot::text AS s FROM cimdb.discovery_monitor WHERE name = $1",
                                                            [SQLValue(result.monitor)]).first?["s"],
                  let snapshot = MonitorSnapshot.decode(snapshotText)
            else {
                return try rejected(["node \(result.node): unknown discovery monitor \(result.monitor)"], connection)
            }
            if result.sequence > 0, let last = try connection.execute(
                "SELECT sequence FROM cimdb.discovery_run WHERE node = $1 AND monitor = $2 FOR UPDATE",
                [SQLValue(result.node), SQLValue(result.monitor)]).first?.int64("sequence"), last >= result.sequence
            {
                return .duplicate(sequence: result.sequence, lastApplied: last)
            }
            var applied: [String: (digest: String, count: Int)] = [:]
            for row in try connection.execute("SELECT settings, digest, instance_count FROM cimdb.discovery_state WHERE node = $1", [SQLValue(result.node)]) {
                if let settings = row["settings"], let digest = row["digest"] { applied[settings] = (digest, row.int("instance_count") ?? 0) }
            }
            let plan = DiscoveryPlan(result, snapshot: snapshot, catalog: catalog, applied: applied, maximumOutputBytes: maximumOutputBytes)
            if !plan.errors.isEmpty { return try rejected(plan.errors, connection) }
            var apply = DiscoveryApplication(plan: plan, catalog: catalog, connection: connection)
            try apply.loadNodeState()
            let referenceErrors = apply.checkReferences()
            if !referenceErrors.isEmpty { return try rejected(referenceErrors, connection) }
            return .applied(try apply.write())
        }
    }
}
