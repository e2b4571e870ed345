import CIM

/// A malformed result envelope, with the 1-based line and column (in Unicode scalars) in the
/// envelope's JSON text where it goes wrong.
public struct EnvelopeError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `line 1, column 37: settings[0].status: unknown status "done" (ok, skipped or failed)`.
    public var description: String { "line \(line), column \(column): \(message)" }
}
