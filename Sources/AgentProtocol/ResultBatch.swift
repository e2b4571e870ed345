/// `POST /v1/results`: results from an agent's journal, oldest first, each the envelope bytes
/// of docs/wire-formats.md carried unchanged (they are kept as received when rejected).
///
/// Framing (content type `application/x-cimdb-results`), per result:
///
///     KIND SP LENGTH LF BYTES LF
///
/// KIND is `discovery` or `update`, LENGTH the decimal byte count of BYTES. Length-prefixed
/// rather than a JSON array so that the envelopes travel and are stored byte-exact without a
/// second round of escaping.
public struct ResultBatch: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case discovery, update
    }

    public struct Item: Sendable, Hashable {
        public var kind: Kind
        public var envelope: [UInt8]

        public init(kind: Kind, envelope: [UInt8]) {
            self.kind = kind
            self.envelope = envelope
        }
    }

    public static let contentType = "application/x-cimdb-results"

    public var items: [Item]

    public init(_ items: [Item]) { self.items = items }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(items.reduce(0) { $0 + $1.envelope.count + 24 })
        for item in items {
            out += Array("\(item.kind.rawValue) \(item.envelope.count)\n".utf8)
            out += item.envelope
            out.append(0x0A)
        }
        return out
    }

    /// Reads a framed body; the error names the byte offset where the framing broke.
    public static func decode(_ bytes: [UInt8]) throws(ResultBatchError) -> ResultBatch {
        var items: [Item] = []
        var i = 0
        while i < bytes.count {
            guard let lf = bytes[i...].firstIndex(of: 0x0A), lf - i <= 32 else {
                throw ResultBatchError(offset: i, message: "expected `KIND LENGTH` and a line feed")
            }
            // Exactly `KIND SP DIGITS`: no second space, no sign, nothing after the digits.
            let head = bytes[i..<lf]
            guard let space = head.firstIndex(of: 0x20), let kind = Kind(rawValue: String(decoding: head[..<space], as: UTF8.self)) else {
                throw ResultBatchError(offset: i, message: "expected `discovery LENGTH` or `update LENGTH`")
            }
            let digits = head[(space + 1)...]
            guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw ResultBatchError(offset: i, message: "the length must be decimal digits only, ending the line")
            }
            let length = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard lf + 1 + length < bytes.count, bytes[lf + 1 + length] == 0x0A else {
                throw ResultBatchError(offset: i, message: "the length \(length) does not match the bytes that follow")
            }
            items.append(Item(kind: kind, envelope: Array(bytes[(lf + 1)..<(lf + 1 + length)])))
            i = lf + 2 + length
        }
        return ResultBatch(items)
    }
}

public struct ResultBatchError: Error, Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public var description: String { "result batch, byte \(offset): \(message)" }
}

/// The server's answer to a result batch: one outcome per item, in order. Every item is
/// settled — applied, a duplicate of one applied before, or rejected (kept in
/// `cimdb.rejected_result` for inspection) — so the agent removes them all from its journal.
public struct ResultBatchResponse: Sendable, Hashable, Codable {
    public struct Outcome: Sendable, Hashable, Codable {
        public enum Status: String, Sendable, Hashable, Codable {
            case applied, duplicate, rejected
        }

        public var status: Status
        /// For `rejected`: the row in cimdb.rejected_result and the reasons.
        public var rejectedID: Int64?
        public var errors: [String]?

        public init(status: Status, rejectedID: Int64? = nil, errors: [String]? = nil) {
            self.status = status
            self.rejectedID = rejectedID
            self.errors = errors
        }
    }

    public var outcomes: [Outcome]
    public var assignmentsVersion: String

    public init(outcomes: [Outcome], assignmentsVersion: String) {
        self.outcomes = outcomes
        self.assignmentsVersion = assignmentsVersion
    }
}
