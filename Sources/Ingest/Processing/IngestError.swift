/// Why a result is rejected, as a value: which node, monitor, settings object, property, which
/// output, line and column, and what is wrong. ``description`` is the text agents, the
/// command line and `cimdb.rejected_result.errors` show, e.g.
/// `node n1, monitor m, settings s, discovery output line 3, column 7: not a uint16: x`.
public struct IngestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Which of a result's outputs the line and column are in.
    public enum Output: String, Sendable, Hashable {
        case discovery, association, update
    }

    public var node: String
    public var monitor: String?
    public var settings: String?
    public var property: String?
    public var output: Output?
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(
        node: String, monitor: String? = nil, settings: String? = nil, property: String? = nil, output: Output? = nil,
        line: Int? = nil, column: Int? = nil, _ message: String
    ) {
        self.node = node
        self.monitor = monitor
        self.settings = settings
        self.property = property
        self.output = output
        self.line = line
        self.column = column
        self.message = message
    }

    /// The same place, another message (and output position).
    func with(output: Output? = nil, line: Int? = nil, column: Int? = nil, _ message: String) -> IngestError {
        IngestError(
            node: node, monitor: monitor, settings: settings, property: property, output: output ?? self.output,
            line: line ?? self.line, column: column ?? self.column, message)
    }

    public var description: String {
        var place = "node \(node)"
        if let monitor { place += ", monitor \(monitor)" }
        if let settings { place += ", settings \(settings)" }
        if let property { place += ", property \(property)" }
        if let output, let line {
            place += ", \(output.rawValue) output line \(line)"
            if let column { place += ", column \(column)" }
        }
        return place + ": " + message
    }
}

/// Where one result of a round stands once decided: accepted with what it asks for, already
/// applied (a duplicate), or refused with its errors (to be recorded, nothing else).
enum ItemState<Accepted> {
    case accepted(Accepted)
    case duplicate(sequence: Int64, lastApplied: Int64)
    case refused([IngestError])

    var accepted: Accepted? {
        if case .accepted(let a) = self { return a }
        return nil
    }

    /// Refuses an accepted item (errors found at a later stage); others stay as they are.
    mutating func refuse(_ errors: [IngestError]) {
        guard !errors.isEmpty, case .accepted = self else { return }
        self = .refused(errors)
    }
}
