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
