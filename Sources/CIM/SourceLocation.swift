/// Where a model element was declared: a file as the user named it, a 1-based line and a
/// 1-based column (counted in characters). Carried by the resolved model so that later
/// stages (schema generation, ingest configuration) can point at the MOF that caused a problem.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}
