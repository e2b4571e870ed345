import CIM

/// One parsed line of script output (a discovered object, or an update's keys and value).
public struct OutputLine: Sendable, Hashable {
    /// The 1-based line number in the output (blank lines count).
    public var number: Int
    /// The fields, in order: key values in KeyPropertyOrder (then, for update output, the value).
    public var fields: [OutputField]
    /// The 1-based column (in Unicode scalars) where each field starts, for messages about a
    /// field's value found later (an unparsable number, an unknown reference).
    public var fieldColumns: [Int]

    public init(number: Int, fields: [OutputField], fieldColumns: [Int]) {
        self.number = number
        self.fields = fields
        self.fieldColumns = fieldColumns
    }
}
