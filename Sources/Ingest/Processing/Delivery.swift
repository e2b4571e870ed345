import CIM
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// A result as the server received it: decoded, with the bytes that arrived (kept verbatim in
/// `cimdb.rejected_result` if the result is rejected; re-encoded from `result` when nil).
public struct Delivery<Result: Sendable>: Sendable {
    public var result: Result
    public var raw: [UInt8]?

    public init(_ result: Result, raw: [UInt8]? = nil) {
        self.result = result
        self.raw = raw
    }
}

/// Splits a batch into rounds in which no key occurs twice, keeping the order of arrival: two
/// results of the same node's monitor (or the same update monitor) are applied one after the
/// other, never merged.
func rounds<Key: Hashable>(of count: Int, key: (Int) -> Key) -> [[Int]] {
    var rounds: [[Int]] = []
    var roundOf: [Key: Int] = [:]
    for index in 0 ..< count {
        let round = roundOf[key(index)].map { $0 + 1 } ?? 0
        roundOf[key(index)] = round
        if round == rounds.count { rounds.append([]) }
        rounds[round].append(index)
    }
    return rounds
}
