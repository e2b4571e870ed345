import CIM
public import Inventory
import ModelStore
public import ORM
import SQLCore
public import Store

/// What applying an update result did.
public struct UpdateSummary: Sendable, Hashable, CustomStringConvertible {
    public var node: String
    public var settings: String
    public var property: String
    /// Values the output gave, and how many of them changed the stored value.
    public var values = 0
    public var changed = 0
    /// The output was byte for byte the last one applied: nothing was parsed or written.
    public var unchangedOutput = false
    /// Lines identical to lines of the last applied output: not parsed or written again.
    public var unchangedLines = 0
    /// The script failed on the node: values were left as they were.
    public var failed = false
    public var events = 0

    public init(node: String, settings: String, property: String) {
        self.node = node
        self.settings = settings
        self.property = property
    }

    public var description: String {
        let what = "node \(node), \(settings).\(property)"
        if failed { return "\(what): the update script failed on the node; values left as they were" }
        if unchangedOutput { return "\(what): unchanged output" }
        return "\(what): \(values) values (\(unchangedLines) on unchanged lines), \(changed) changed, \(events) events"
    }
}

public enum UpdateOutcome: Sendable, Hashable {
    case applied(UpdateSummary)
    case duplicate(sequence: Int64, lastApplied: Int64)
    case rejected(id: Int64, errors: [IngestError])
}

/// Applies update results (SPEC §5): each line names an instance the node reports (its keys in
/// KeyPropertyOrder) and gives the property's value, converted to the property's CIM type. A
/// changed value is written with its node and time, and emits a value-change event with the
/// property's severity (the first value an update writes is not a change); an unchanged value
/// writes nothing; an instance without a line keeps its value.
///
/// Results are applied in batches: one transaction, the values of all results merged into one
/// UPDATE per class (its changed values, their provenance and their events in the same
/// statement). Each result is still all-or-nothing: a rejected one is recorded and the others
/// applied; should the database refuse a batch, its results are applied one by one.
public struct UpdateProcessor: Sendable {
    public var catalog: ModelCatalog
    /// Outputs larger than this are rejected.
    public var maximumOutputBytes: Int

    public init(catalog: ModelCatalog, maximumOutputBytes: Int = DiscoveryProcessor.defaultMaximumOutputBytes) {
        self.catalog = catalog
        self.maximumOutputBytes = maximumOutputBytes
    }

    public func apply(_ result: UpdateResult, raw: [UInt8]? = nil, on connection: Connection) throws -> UpdateOutcome {
        try apply([Delivery(result, raw: raw)], on: connection)[0]
    }

    /// Applies a batch of results, in order; returns one outcome per result.
    public func apply(_ batch: [Delivery<UpdateResult>], on connection: Connection) throws -> [UpdateOutcome] {
        try BatchApplier.apply(batch, with: Rounds(processor: self), on: connection)
    }

    /// Updates as `BatchApplier` sees them: one round per update monitor (node, settings, property).
    struct Rounds: RoundProcessing {
        let processor: UpdateProcessor

        func roundKey(_ result: UpdateResult) -> [String] { [result.node, result.settings, result.property.lowercased()] }

        func applyRound(_ deliveries: [Delivery<UpdateResult>], on connection: Connection) throws -> [UpdateOutcome] {
            try UpdateRound(processor: processor, connection: connection).run(deliveries)
        }

        func refusal(of result: UpdateResult, message: String) -> (record: RejectionRecord, error: IngestError) {
            (
                RejectionRecord(kind: "update", node: result.node, settings: result.settings, property: result.property),
                IngestError(node: result.node, settings: result.settings, property: result.property, message)
            )
        }

        func rejected(id: Int64, errors: [IngestError]) -> UpdateOutcome { .rejected(id: id, errors: errors) }
        func encode(_ result: UpdateResult) -> [UInt8] { Envelope.encode(result) }
    }
}
