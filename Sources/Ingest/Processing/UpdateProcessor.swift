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
    case rejected(id: Int64, errors: [String])
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
        var outcomes = [UpdateOutcome?](repeating: nil, count: batch.count)
        let key = { (i: Int) in [batch[i].result.node, batch[i].result.settings, batch[i].result.property.lowercased()] }
        for round in rounds(of: batch.count, key: key) {
            let deliveries = round.map { batch[$0] }
            do {
                let results = try connection.transaction { connection in
                    var applying = UpdateRound(processor: self, deliveries: deliveries, connection: connection)
                    return try applying.run()
                }
                for (index, outcome) in zip(round, results) { outcomes[index] = outcome }
            } catch let error as PostgresError where error.kind != .connection && !error.isTransient && deliveries.count > 1 {
                for (index, delivery) in zip(round, deliveries) { outcomes[index] = try applyAlone(delivery, on: connection) }
            }
        }
        return outcomes.map { $0! }
    }

    func applyAlone(_ delivery: Delivery<UpdateResult>, on connection: Connection) throws -> UpdateOutcome {
        do {
            return try connection.transaction { connection in
                var applying = UpdateRound(processor: self, deliveries: [delivery], connection: connection)
                return try applying.run()[0]
            }
        } catch let error as PostgresError where error.kind != .connection && !error.isTransient {
            let result = delivery.result
            let errors = ["node \(result.node), settings \(result.settings), property \(result.property): the database refused the result: \(error.message)"
                + (error.detail.map { " (\($0))" } ?? "")]
            let id = try connection.transaction { connection in
                try Rejection.record(kind: "update", node: result.node, monitor: nil, settings: result.settings, property: result.property,
                                     raw: delivery.raw ?? Envelope.encode(result), errors: errors, on: connection)
            }
            return .rejected(id: id, errors: errors)
        }
    }
}
