import CIM
public import Inventory
import ModelStore
public import ORM
import SQLCore
public import Store

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

    public init(node: String, monitor: String) {
        self.node = node
        self.monitor = monitor
    }

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
    case rejected(id: Int64, errors: [IngestError])
}

/// Applies discovery results (SPEC §5), each atomically and idempotently: instances a node no
/// longer reports are deleted with every association that references them (unless another
/// node still reports them), new ones are created, events are emitted per the settings'
/// severities, update monitors are deployed where a settings object gets its first instance on
/// a node and removed with its last. Bad input is rejected with node, monitor, settings, line
/// and column, and kept.
///
/// Results are applied in batches: one transaction and a fixed number of set-based statements
/// for the whole batch (COPY for what is created), so that a server keeps up with thousands of
/// nodes. Each result of a batch is still all-or-nothing: a rejected one is recorded and the
/// others applied. Should the database refuse a batch (a constraint no check here foresaw),
/// its results are applied one by one, and the one the database refuses is rejected with the
/// database's reason.
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
        try apply([Delivery(result, raw: raw)], on: connection)[0]
    }

    /// Applies a batch of results, in order; returns one outcome per result.
    public func apply(_ batch: [Delivery<DiscoveryResult>], on connection: Connection) throws -> [DiscoveryOutcome] {
        try BatchApplier.apply(batch, with: Rounds(processor: self, cascade: CascadeFinder(catalog: catalog)), on: connection)
    }

    /// Discovery as `BatchApplier` sees it: one round per node.
    struct Rounds: RoundProcessing {
        let processor: DiscoveryProcessor
        let cascade: CascadeFinder

        func roundKey(_ result: DiscoveryResult) -> [String] { [result.node] }

        func applyRound(_ deliveries: [Delivery<DiscoveryResult>], on connection: Connection) throws -> [DiscoveryOutcome] {
            try DiscoveryRound(processor: processor, cascade: cascade, connection: connection).run(deliveries)
        }

        func refusal(of result: DiscoveryResult, message: String) -> (record: RejectionRecord, error: IngestError) {
            (
                RejectionRecord(kind: "discovery", node: result.node, monitor: result.monitor),
                IngestError(node: result.node, monitor: result.monitor, message)
            )
        }

        func rejected(id: Int64, errors: [IngestError]) -> DiscoveryOutcome { .rejected(id: id, errors: errors) }
        func encode(_ result: DiscoveryResult) -> [UInt8] { Envelope.encode(result) }
    }
}
