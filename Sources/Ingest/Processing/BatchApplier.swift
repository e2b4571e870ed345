import Inventory
import SQLCore
import Store

/// What discovery and update processing share: a batch is split into rounds in which no
/// monitor occurs twice (two results of one monitor are applied one after the other, never
/// merged); each round is applied in one transaction; should the database refuse a round (a
/// constraint no check foresaw), its results are applied one by one, and the one the database
/// refuses is rejected with the database's reason — one bad result never sinks the others.
///
/// Every transaction here is durable (synchronous commit): the server answers 200 after the
/// last of them, and the agent then deletes the results from its journal.
protocol RoundProcessing {
    associatedtype Result: Sendable
    associatedtype Outcome

    /// Results with equal keys go to different rounds, in the order they arrived.
    func roundKey(_ result: Result) -> [String]
    /// Applies a round inside the caller's transaction: one outcome per delivery.
    func applyRound(_ deliveries: [Delivery<Result>], on connection: Connection) throws -> [Outcome]
    /// Where a result refused by the database is recorded, and the error naming it.
    func refusal(of result: Result, message: String) -> (record: RejectionRecord, error: IngestError)
    func rejected(id: Int64, errors: [IngestError]) -> Outcome
    func encode(_ result: Result) -> [UInt8]
}

/// The columns of `cimdb.rejected_result` that say what was rejected.
struct RejectionRecord {
    var kind: String
    var node: String
    var monitor: String?
    var settings: String?
    var property: String?
}

enum BatchApplier {
    static func apply<P: RoundProcessing>(_ batch: [Delivery<P.Result>], with processor: P, on connection: Connection) throws -> [P.Outcome] {
        var outcomes = [P.Outcome?](repeating: nil, count: batch.count)
        for round in rounds(of: batch.count, key: { processor.roundKey(batch[$0].result) }) {
            let deliveries = round.map { batch[$0] }
            do {
                let results = try connection.transaction(durable: true) { try processor.applyRound(deliveries, on: $0) }
                for (index, outcome) in zip(round, results) { outcomes[index] = outcome }
            } catch let error as PostgresError where error.kind != .connection && !error.isTransient && deliveries.count > 1 {
                for (index, delivery) in zip(round, deliveries) { outcomes[index] = try applyAlone(delivery, with: processor, on: connection) }
            }
        }
        // Every index is in exactly one round.
        return outcomes.compactMap { $0 }
    }

    /// Applies one result in its own transaction; a database refusal rejects it.
    static func applyAlone<P: RoundProcessing>(_ delivery: Delivery<P.Result>, with processor: P, on connection: Connection) throws -> P.Outcome {
        do {
            return try connection.transaction(durable: true) { try processor.applyRound([delivery], on: $0)[0] }
        } catch let error as PostgresError where error.kind != .connection && !error.isTransient {
            let (record, reason) = processor.refusal(
                of: delivery.result,
                message: "the database refused the result: \(error.message)" + (error.detail.map { " (\($0))" } ?? ""))
            let id = try connection.transaction(durable: true) { connection in
                try Rejection.record(record, raw: delivery.raw ?? processor.encode(delivery.result), errors: [reason], on: connection)
            }
            return processor.rejected(id: id, errors: [reason])
        }
    }
}

/// Splits a batch into rounds in which no key occurs twice, keeping the order of arrival.
func rounds<Key: Hashable>(of count: Int, key: (Int) -> Key) -> [[Int]] {
    var rounds: [[Int]] = []
    var roundOf: [Key: Int] = [:]
    for index in 0..<count {
        let round = roundOf[key(index)].map { $0 + 1 } ?? 0
        roundOf[key(index)] = round
        if round == rounds.count { rounds.append([]) }
        rounds[round].append(index)
    }
    return rounds
}
