/// The rows and counts a statement returned, copied out of libpq into Swift strings so that the
/// result is a plain `Sendable` value.
public struct QueryResult: Sendable, RandomAccessCollection {
    let storage: ResultStorage

    /// The column names, in order.
    public var columns: [String] { storage.columns }
    /// Rows inserted, updated, deleted, copied or selected, as the command tag reports them (0 when it reports none).
    public var affectedRows: Int
    /// The command tag, e.g. `INSERT 0 1` or `SELECT 3`.
    public var commandTag: String

    /// A result of `columns` and `values` (row-major, `nil` for NULL), as a client library read it.
    public init(columns: [String], values: [String?], affectedRows: Int, commandTag: String) {
        self.init(
            storage: columns.isEmpty ? .empty : ResultStorage(columns: columns, values: values), affectedRows: affectedRows,
            commandTag: commandTag)
    }

    init(storage: ResultStorage, affectedRows: Int, commandTag: String) {
        self.storage = storage
        self.affectedRows = affectedRows
        self.commandTag = commandTag
    }

    /// The first row's index: 0.
    public var startIndex: Int { 0 }
    /// One past the last row's index.
    public var endIndex: Int { storage.rowCount }

    /// The row at `index`.
    public subscript(index: Int) -> Row {
        precondition(index >= 0 && index < storage.rowCount, "row index \(index) out of range 0..<\(storage.rowCount)")
        return Row(storage: storage, row: index)
    }
}

/// The values of a result, row-major, shared by its rows.
final class ResultStorage: Sendable {
    let columns: [String]
    let columnIndex: [String: Int]
    let values: [String?]
    let rowCount: Int

    init(columns: [String], values: [String?]) {
        self.columns = columns
        var index: [String: Int] = [:]
        for (position, name) in columns.enumerated() where index[name] == nil { index[name] = position }
        columnIndex = index
        self.values = values
        rowCount = columns.isEmpty ? 0 : values.count / columns.count
    }

    static let empty = ResultStorage(columns: [], values: [])
}
