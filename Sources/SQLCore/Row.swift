/// One row of a ``QueryResult``: text values by column index or name, `nil` for SQL `NULL`.
///
/// Asking for a column the result does not have is a programming error and traps, like an
/// array index out of range. The typed accessors return `nil` for `NULL` and for text that
/// does not parse as the type.
public struct Row: Sendable {
    let storage: ResultStorage
    let row: Int

    /// The column names, in order.
    public var columns: [String] { storage.columns }

    /// The text of the column at `index` (0-based), `nil` for `NULL`.
    public subscript(_ index: Int) -> String? {
        precondition(index >= 0 && index < storage.columns.count, "column index \(index) out of range 0..<\(storage.columns.count)")
        return storage.values[row * storage.columns.count + index]
    }

    /// The text of the column named `column` (the first one, if several share the name), `nil` for `NULL`.
    public subscript(_ column: String) -> String? {
        self[index(of: column)]
    }

    /// Whether the result has a column named `column`.
    public func contains(column: String) -> Bool {
        storage.columnIndex[column] != nil
    }

    private func index(of column: String) -> Int {
        guard let index = storage.columnIndex[column] else {
            preconditionFailure("no column \"\(column)\" in result (columns: \(storage.columns.joined(separator: ", ")))")
        }
        return index
    }
}

extension Row {
    /// The text of `column`, `nil` for `NULL`.
    public func string(_ column: String) -> String? { self[column] }

    /// `column` as an `Int`.
    public func int(_ column: String) -> Int? { self[column].flatMap { Int($0) } }

    /// `column` as an `Int64`.
    public func int64(_ column: String) -> Int64? { self[column].flatMap { Int64($0) } }

    /// `column` as a `Double` (PostgreSQL's `Infinity`, `-Infinity` and `NaN` included).
    public func double(_ column: String) -> Double? { self[column].flatMap(Self.parseDouble) }

    /// `column` as a `Bool`: PostgreSQL's `t`/`f` (also `true`/`false`).
    public func bool(_ column: String) -> Bool? { self[column].flatMap(Self.parseBool) }

    /// `column` as the elements of a text-format array literal, `nil` elements for `NULL`.
    public func stringArray(_ column: String) -> [String?]? { self[column].flatMap(ArrayLiteral.parse) }

    /// `column` (a `bytea` in hex format) as bytes.
    public func bytes(_ column: String) -> [UInt8]? { self[column].flatMap(ByteaHex.decode) }

    /// The text of the column at `index`, `nil` for `NULL`.
    public func string(_ index: Int) -> String? { self[index] }

    /// The column at `index` as an `Int`.
    public func int(_ index: Int) -> Int? { self[index].flatMap { Int($0) } }

    /// The column at `index` as an `Int64`.
    public func int64(_ index: Int) -> Int64? { self[index].flatMap { Int64($0) } }

    /// The column at `index` as a `Double`.
    public func double(_ index: Int) -> Double? { self[index].flatMap(Self.parseDouble) }

    /// The column at `index` as a `Bool`.
    public func bool(_ index: Int) -> Bool? { self[index].flatMap(Self.parseBool) }

    /// The column at `index` as the elements of an array literal.
    public func stringArray(_ index: Int) -> [String?]? { self[index].flatMap(ArrayLiteral.parse) }

    /// The column at `index` (a `bytea` in hex format) as bytes.
    public func bytes(_ index: Int) -> [UInt8]? { self[index].flatMap(ByteaHex.decode) }

    private static func parseBool(_ text: String) -> Bool? {
        switch text {
        case "t", "true": true
        case "f", "false": false
        default: nil
        }
    }

    private static func parseDouble(_ text: String) -> Double? {
        switch text {
        case "Infinity": .infinity
        case "-Infinity": -.infinity
        case "NaN": .nan
        default: Double(text)
        }
    }
}
