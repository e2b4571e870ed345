public import CIM
public import ORM
import SQLCore
public import Store

/// Writes many instances of one class at once: reserves their ids, then COPYs their registry
/// rows and their table rows — the store's bulk path (ingest uses it for discovered instances).
///
/// Values are checked by the caller (ingest parses them per CIM type); the table's CHECK
/// constraints still guard every row, and one bad row aborts the whole load (nothing is
/// half-written: the caller wraps the load in its transaction).
public struct BulkLoader: Sendable {
    public var cls: ClassMapping
    /// The properties each row gives, in this order.
    public var columns: [PropertyMapping]

    public init(cls: ClassMapping, columns: [PropertyMapping]) {
        self.cls = cls
        self.columns = columns
    }

    /// Inserts `rows` (values in `columns` order; references as instance ids) and returns their
    /// ids in row order. The canonical path of each row is `paths[i]`, or built from its key
    /// values (which must then hold no references: a path names what a reference points at).
    @discardableResult
    public func insert(_ rows: [[Value]], paths: [String]? = nil, on connection: Connection) throws -> [Int64] {
        guard !rows.isEmpty else { return [] }
        precondition(paths == nil || paths!.count == rows.count, "one path per row")
        let ids = try Self.reserveIDs(rows.count, on: connection)
        let keyColumns = columns.enumerated().filter { $0.element.isKey }.sorted { namePrecedes($0.element.name, $1.element.name) }
        let className = cls.name
        try connection.copyIn("COPY cimdb.instance (id, class_name, path) FROM STDIN") { writer in
            for (index, (row, id)) in zip(rows, ids).enumerated() {
                let path = paths?[index] ?? InstancePath(className: className, keys: keyColumns.map { ($0.element.name, row[$0.offset]) }).description
                writer.appendRow([String(id), className, path])
            }
        }
        let columnList = SQL.list([SQLNames.instanceID] + columns.map(\.sqlColumn))
        try connection.copyIn("COPY \(cls.sqlTable) (\(columnList)) FROM STDIN") { writer in
            var fields: [String?] = []
            fields.reserveCapacity(columns.count + 1)
            for (row, id) in zip(rows, ids) {
                fields.removeAll(keepingCapacity: true)
                fields.append(String(id))
                for (property, value) in zip(columns, row) { fields.append(ValueCoding.sqlValue(value, for: property).text) }
                writer.appendRow(fields)
            }
        }
        return ids
    }

    /// `count` fresh instance ids from the registry's identity sequence.
    public static func reserveIDs(_ count: Int, on connection: Connection) throws -> [Int64] {
        try connection.execute(
            "SELECT nextval('cimdb.instance_id_seq') AS id FROM generate_series(1, \(count))"
        ).compactMap { $0.int64("id") }
    }
}
