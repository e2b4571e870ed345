import CIM

/// A malformed piece of script output, with the 1-based line and column (in Unicode
/// scalars) where it goes wrong.
public struct OutputError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `line 3, column 14: expected 4 fields, found 3`.
    public var description: String { "line \(line), column \(column): \(message)" }
}
