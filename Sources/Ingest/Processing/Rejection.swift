import CIM
public import Inventory
import ModelStore
import ORM
import SQLCore
public import Store

/// Records a result that was not applied, with its raw input and every reason.
enum Rejection {
    @discardableResult
    static func record(_ record: RejectionRecord, raw: [UInt8], errors: [IngestError], on connection: Connection) throws -> Int64 {
        try Self.record(
            kind: record.kind, node: record.node, monitor: record.monitor, settings: record.settings, property: record.property,
            raw: raw, errors: errors.map(\.description), on: connection)
    }

    @discardableResult
    static func record(
        kind: String, node: String?, monitor: String?, settings: String?, property: String?, raw: [UInt8],
        errors: [String], on connection: Connection
    ) throws -> Int64 {
        try connection.execute(
            """
            INSERT INTO cimdb.rejected_result (kind, node, monitor, settings, property_name, raw, errors)
            VALUES (\(kind), \(node), \(monitor), \(settings), \(property), \(Bytea(raw)), \(errors)) RETURNING id
            """
        ).first?.int64("id") ?? 0
    }
}

/// What arrived but is not a result at all: an envelope that does not decode (truncated, not
/// JSON, a field missing). Nothing can be applied; the bytes are kept with the reason, so that
/// nothing a node sent is lost.
public enum UndecodableEnvelope {
    /// Records the envelope in `cimdb.rejected_result` (`kind` discovery or update); `from`
    /// names where it came from (`node n1`, a file) and starts the error message.
    /// - Returns: the rejected result's id and its error.
    @discardableResult
    public static func reject(
        _ raw: [UInt8], kind: ResultKind, error: EnvelopeError, from source: String, node: String? = nil,
        on connection: Connection
    ) throws -> (id: Int64, error: String) {
        let message = "\(source): the \(kind.rawValue) envelope is malformed at line \(error.line), column \(error.column): \(error.message)"
        let id = try Rejection.record(
            kind: kind.rawValue, node: node, monitor: nil, settings: nil, property: nil, raw: raw, errors: [message], on: connection)
        return (id, message)
    }

    public enum ResultKind: String, Sendable {
        case discovery, update
    }
}

/// A result that names another node than the one whose credential signed it: not applied, kept
/// with the reason (a node reports only for itself).
public enum MisaddressedResult {
    @discardableResult
    public static func reject(
        _ raw: [UInt8], kind: UndecodableEnvelope.ResultKind, signedBy signer: String, names node: String,
        on connection: Connection
    ) throws -> (id: Int64, error: String) {
        let message = "node \(signer): the \(kind.rawValue) result names node \(node); a node reports only for itself"
        let id = try Rejection.record(
            kind: kind.rawValue, node: signer, monitor: nil, settings: nil, property: nil, raw: raw, errors: [message], on: connection)
        return (id, message)
    }
}
