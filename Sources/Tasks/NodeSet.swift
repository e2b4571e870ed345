/// A set of node names written in ClusterShell's syntax: `n[01-32,40],gpu[1-4],head01`.
///
/// The syntax is the one `clush -w` takes and `nodeset -f` prints, so an operator can paste a set
/// from one to the other. Parsing (``init(parsing:)``) accepts:
///
/// - elements separated by `,`, with spaces, tabs or newlines allowed around the commas;
/// - an element is letters, digits, `-`, `_` and `.`, with any number of bracketed range lists:
///   `node7`, `n[01-32,40]`, `rack[1-2]-n[1-3]` (the cartesian product: rack1-n1 … rack2-n3);
/// - a range is `a`, `a-b` or `a-b/step` (`a[1-10/2]` is a1, a3, …, a9).
///
/// Padding follows ClusterShell (its `RangeSet` parser): a range is zero-padded to the width of its
/// lower bound when that bound has a leading zero, and the upper bound's width does not matter.
/// So `[8-12]` is 8 … 12 unpadded, `[08-12]` is 08 … 12, and `[01-100]` is 01 … 99, 100.
///
/// The empty (or all-blank) text is the empty set, whose ``description`` is the empty string.
///
/// ``init(_:)`` and ``insert(_:)`` take names as they are, without checking them against the
/// syntax: the empty name, or one holding `,`, `[` or a space, is kept, but then ``description``
/// does not parse back to the same set.
public struct NodeSet: Sendable, Hashable, CustomStringConvertible {
    /// The names, unordered: order is only needed for ``names`` and ``description``, which sort.
    private var members: Set<String>

    /// The most names one ``init(parsing:)`` may produce (counting repeats), so that a typo such as
    /// `n[1-100000000]` is an error rather than gigabytes of strings.
    static let expansionLimit = 1_000_000

    /// The empty set.
    public init() {
        members = []
    }

    /// The set of `names`, kept as given (duplicates collapse).
    public init<S: Sequence>(_ names: S) where S.Element == String {
        members = Set(names)
    }

    /// Parses `text` in ClusterShell's node-set syntax.
    ///
    /// - Throws: ``NodeSetError`` whose ``NodeSetError/column`` (1-based, in characters) is that of
    ///   the character at fault: the offending character; the `[` that is never closed; the `]`
    ///   without a `[`; the first digit (lower bound) of a reversed range, or of a range that
    ///   takes the expansion past 1,000,000 names (the element's first character when only the
    ///   product of its range lists does); the `,` (or the end of the text) where an element or a
    ///   range is missing.
    public init(parsing text: String) throws(NodeSetError) {
        var parser = NodeSetParser(text)
        members = try parser.parse()
    }

    private init(members: Set<String>) {
        self.members = members
    }

    /// The names, sorted by prefix, then suffix, then the value and width of the last run of
    /// digits (so `n2` comes before `n10`); prefixes and suffixes in byte order.
    public var names: [String] {
        NodePattern.sorted(members).flatMap(\.names)
    }

    /// How many names the set holds.
    public var count: Int {
        members.count
    }

    /// Whether the set holds no name.
    public var isEmpty: Bool {
        members.isEmpty
    }

    /// Whether `name` is in the set (exact match: `n1` is not `n01`).
    public func contains(_ name: String) -> Bool {
        members.contains(name)
    }

    /// Adds `name`, as it is.
    public mutating func insert(_ name: String) {
        members.insert(name)
    }

    /// The names in either set.
    public func union(_ other: NodeSet) -> NodeSet {
        NodeSet(members: members.union(other.members))
    }

    /// The names of this set that are not in `other`.
    public func subtracting(_ other: NodeSet) -> NodeSet {
        NodeSet(members: members.subtracting(other.members))
    }

    /// The set folded back into ranges, like `nodeset -f`: `gpu[1-4],n[01-32,40]`.
    ///
    /// Names are folded on their last run of digits only (ClusterShell folds several dimensions;
    /// `n1x1,n2x1` stays as it is here). Elements are sorted by prefix, then suffix, in byte order;
    /// a lone number prints without brackets (`n05`). Ranges are never written with a step, as
    /// `nodeset -f` does by default (no autostep). Parsing the result gives back the same set.
    public var description: String {
        NodePattern.sorted(members).flatMap(\.elements).joined(separator: ",")
    }
}

/// Why a text is not a node set, and where.
public struct NodeSetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based column, in characters, of the character at fault (see ``NodeSet/init(parsing:)``).
    public var column: Int
    /// What is wrong, for a person.
    public var message: String

    init(column: Int, message: String) {
        self.column = column
        self.message = message
    }

    /// `column 4: …`
    public var description: String {
        "column \(column): \(message)"
    }
}

// MARK: - Patterns: names grouped for sorting and folding

/// The names that share a prefix and suffix around their last run of digits, the part
/// `nodeset -f` turns into a range: `n01-a`, `n02-a` are the pattern `n`…`-a` with 1 and 2.
///
/// Sorting groups first and numbers within a group second keeps the byte comparisons to one per
/// pair of patterns rather than per pair of names (10,000 names in one rack fold in a few ms).
struct NodePattern {
    /// Prefix and suffix as bytes: `nodeset` orders them in byte order, and byte equality keeps
    /// two spellings of an accented prefix apart (`String` compares by canonical equivalence).
    let prefix: [UInt8]
    let suffix: [UInt8]
    /// The name that is exactly `prefix + suffix`, with no number of its own, if in the set. A
    /// name without digits (or with more than fit in an `Int`) is such a name, its suffix empty.
    var plain: String?
    /// The names with a number, sorted by value, then width, once ``sorted(_:)`` returns.
    var numbered: [Numbered] = []

    struct Key: Hashable {
        let prefix: [UInt8]
        let suffix: [UInt8]
    }

    struct Numbered {
        let name: String
        let value: Int
        /// How many digits the name spells the number with.
        let width: Int
        /// The width a range must be padded to for this spelling: its width when it has a leading
        /// zero (`007`), else 0 (`7`, `0` and `100` need no padding).
        let padding: Int

        /// Whether a range padded to `other` digits spells this number the same way.
        func fits(padding other: Int) -> Bool {
            padding == 0 ? other <= width : other == width
        }
    }

    /// The patterns of `names`, sorted by prefix, then suffix, each with its numbers sorted.
    static func sorted(_ names: Set<String>) -> [NodePattern] {
        var patterns: [Key: NodePattern] = [:]
        for name in names {
            let (key, number) = split(name)
            let empty = NodePattern(prefix: key.prefix, suffix: key.suffix)
            if let number {
                patterns[key, default: empty].numbered.append(number)
            } else {
                patterns[key, default: empty].plain = name
            }
        }
        var sorted = Array(patterns.values)
        sorted.sort { a, b in
            a.prefix != b.prefix ? a.prefix.lexicographicallyPrecedes(b.prefix) : a.suffix.lexicographicallyPrecedes(b.suffix)
        }
        for index in sorted.indices {
            sorted[index].numbered.sort { ($0.value, $0.width) < ($1.value, $1.width) }
        }
        return sorted
    }

    /// `name` cut around its last run of digits; the number is `nil` when there is none to vary.
    private static func split(_ name: String) -> (Key, Numbered?) {
        let bytes = Array(name.utf8)
        var end = bytes.count
        while end > 0, !NodeSetParser.isDigit(bytes[end - 1]) { end -= 1 }
        var start = end
        while start > 0, NodeSetParser.isDigit(bytes[start - 1]) { start -= 1 }
        let width = end - start
        guard width > 0, width <= NodeSetParser.maximumDigits else {
            return (Key(prefix: bytes, suffix: []), nil)
        }
        var value = 0
        for byte in bytes[start..<end] { value = value * 10 + Int(byte - UInt8(ascii: "0")) }
        let padding = width > 1 && bytes[start] == UInt8(ascii: "0") ? width : 0
        let key = Key(prefix: Array(bytes[..<start]), suffix: Array(bytes[end...]))
        return (key, Numbered(name: name, value: value, width: width, padding: padding))
    }

    /// The names, in order: the plain one, then the numbered ones.
    var names: [String] {
        (plain.map { [$0] } ?? []) + numbered.map(\.name)
    }

    /// The elements `nodeset -f` prints for this pattern: the plain name, then one bracket set.
    ///
    /// A run of consecutive numbers stays open per padding, so `n8,n08,n9,n09` folds to
    /// `n[8-9,08-09]`; an unpadded number joins a padded run it is spelled the same in (10 after
    /// 08-09 gives `08-10`, as `node[0001-1000]` needs), preferring an unpadded run when both could
    /// take it. Runs print by first value, then padding; a lone number prints without brackets.
    var elements: [String] {
        var elements = plain.map { [$0] } ?? []
        guard let first = numbered.first else { return elements }
        if numbered.count == 1 {
            elements.append(first.name)
            return elements
        }
        var open: [Run] = []
        var closed: [Run] = []
        for number in numbered {
            var extended: Int?
            for index in open.indices
            where open[index].last == number.value - 1 && number.fits(padding: open[index].padding) {
                if extended == nil || open[index].padding == number.padding { extended = index }
            }
            if let index = extended {
                open[index].last = number.value
                continue
            }
            if let index = open.firstIndex(where: { $0.padding == number.padding }) {
                closed.append(open.remove(at: index))
            }
            open.append(Run(padding: number.padding, first: number.value, last: number.value))
        }
        let runs = (closed + open).sorted { ($0.first, $0.padding) < ($1.first, $1.padding) }
        let ranges = runs.map { run in
            run.first == run.last
                ? Self.spell(run.first, padding: run.padding)
                : Self.spell(run.first, padding: run.padding) + "-" + Self.spell(run.last, padding: run.padding)
        }
        let text =
            String(decoding: prefix, as: UTF8.self) + "[" + ranges.joined(separator: ",") + "]"
            + String(decoding: suffix, as: UTF8.self)
        elements.append(text)
        return elements
    }

    /// Consecutive numbers spelled with the same padding.
    private struct Run {
        var padding: Int
        var first: Int
        var last: Int
    }

    /// `value` in decimal, zero-padded to `padding` digits.
    static func spell(_ value: Int, padding: Int) -> String {
        let digits = String(value)
        return digits.count >= padding ? digits : String(repeating: "0", count: padding - digits.count) + digits
    }
}

// MARK: - Parsing

/// A recursive-descent reader over the text's UTF-8 bytes (every byte the syntax gives meaning to
/// is ASCII); columns are converted to characters only when reporting an error.
struct NodeSetParser {
    /// Bounds of at most 18 digits always fit in an `Int`.
    static let maximumDigits = 18

    private let text: String
    private let bytes: [UInt8]
    private var position = 0
    /// Names produced so far, repeats included, against ``NodeSet/expansionLimit``.
    private var produced = 0

    init(_ text: String) {
        self.text = text
        bytes = Array(text.utf8)
    }

    mutating func parse() throws(NodeSetError) -> Set<String> {
        var names = Set<String>()
        skipBlanks()
        if atEnd { return names }
        while true {
            skipBlanks()
            names.formUnion(try element())
            let afterElement = position
            skipBlanks()
            if atEnd { return names }
            if peek == UInt8(ascii: ",") {
                position += 1
                continue
            }
            // element() stops only at a blank, a comma or the end, so blanks came before this.
            if peek == UInt8(ascii: "]") { throw strayBracket(at: position) }
            if let byte = peek, !Self.isNameByte(byte) && byte != UInt8(ascii: "[") { throw badNameCharacter(at: position) }
            throw error(at: afterElement, "a space cannot be part of a node name (separate names with ',')")
        }
    }

    /// `name[ranges]name…`: the cartesian product of its literal parts and range lists.
    private mutating func element() throws(NodeSetError) -> [String] {
        let start = position
        var parts: [[String]] = []
        var literalStart = position
        func flushLiteral(upTo end: Int) {
            if end > literalStart { parts.append([String(decoding: bytes[literalStart..<end], as: UTF8.self)]) }
        }
        while !atEnd {
            let byte = bytes[position]
            if Self.isNameByte(byte) {
                position += 1
            } else if byte == UInt8(ascii: "[") {
                flushLiteral(upTo: position)
                parts.append(try rangeList())
                literalStart = position
            } else if byte == UInt8(ascii: ",") || Self.isBlank(byte) {
                break
            } else if byte == UInt8(ascii: "]") {
                throw strayBracket(at: position)
            } else {
                throw badNameCharacter(at: position)
            }
        }
        flushLiteral(upTo: position)
        if parts.isEmpty {
            throw error(at: start, atEnd ? "empty element after the last ','" : "empty element before this ','")
        }

        var total = 1
        for part in parts {
            let (product, overflow) = total.multipliedReportingOverflow(by: part.count)
            guard !overflow, product <= NodeSet.expansionLimit - produced else { throw tooMany(at: start) }
            total = product
        }
        produced += total

        var names = [""]
        for part in parts {
            if part.count == 1 {
                names = names.map { $0 + part[0] }
            } else {
                var next: [String] = []
                next.reserveCapacity(names.count * part.count)
                for name in names {
                    for piece in part { next.append(name + piece) }
                }
                names = next
            }
        }
        return names
    }

    /// `[a, b-c, d-e/step]`, from its `[` to past its `]`: the numbers it spells, padded.
    private mutating func rangeList() throws(NodeSetError) -> [String] {
        let open = position
        position += 1
        var numbers: [String] = []
        while true {
            skipBlanks()
            guard !atEnd else { throw unclosed(open) }
            if peek == UInt8(ascii: "]") || peek == UInt8(ascii: ",") {
                let message = numbers.isEmpty && peek == UInt8(ascii: "]") ? "empty range list '[]'" : "empty range"
                throw error(at: position, message)
            }
            try range(in: open, into: &numbers)
            skipBlanks()
            guard !atEnd else { throw unclosed(open) }
            switch peek {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "]"):
                position += 1
                return numbers
            default:
                throw invalidCharacter(at: position, "in a range list (expected ',', '-' or ']')")
            }
        }
    }

    /// `a`, `a-b` or `a-b/step`, appended to `numbers` zero-padded to the lower bound's width when
    /// that bound has a leading zero (ClusterShell's rule: `01-100` is 01 … 99, 100).
    private mutating func range(in open: Int, into numbers: inout [String]) throws(NodeSetError) {
        let start = position
        let low = try bound(in: open)
        var high = low
        var step = 1
        skipBlanks()
        if peek == UInt8(ascii: "-") {
            position += 1
            skipBlanks()
            high = try bound(in: open)
            skipBlanks()
            if peek == UInt8(ascii: "/") {
                position += 1
                skipBlanks()
                let stepStart = position
                step = try bound(in: open).value
                guard step >= 1 else { throw error(at: stepStart, "a step must be at least 1") }
            }
        } else if peek == UInt8(ascii: "/") {
            throw error(at: position, "a step needs a range, as in '1-9/2'")
        }
        guard low.value <= high.value else {
            throw error(at: start, "reversed range \(low.digits)-\(high.digits) (write the lower bound first)")
        }
        let size = (high.value - low.value) / step + 1
        guard size <= NodeSet.expansionLimit - produced - numbers.count else { throw tooMany(at: start) }
        let padding = low.digits.count > 1 && low.digits.first == "0" ? low.digits.count : 0
        for value in stride(from: low.value, through: high.value, by: step) {
            numbers.append(NodePattern.spell(value, padding: padding))
        }
    }

    /// A run of decimal digits inside the range list opened at `open`.
    private mutating func bound(in open: Int) throws(NodeSetError) -> (value: Int, digits: String) {
        let start = position
        while !atEnd, Self.isDigit(bytes[position]) { position += 1 }
        guard position > start else {
            if atEnd { throw unclosed(open) }
            if peek == UInt8(ascii: "[") { throw error(at: position, "'[' inside a range list (brackets do not nest)") }
            throw invalidCharacter(at: position, "in a range (expected a digit)")
        }
        guard position - start <= Self.maximumDigits else {
            throw error(at: start, "number with more than \(Self.maximumDigits) digits")
        }
        var value = 0
        for byte in bytes[start..<position] { value = value * 10 + Int(byte - UInt8(ascii: "0")) }
        return (value, String(decoding: bytes[start..<position], as: UTF8.self))
    }

    // MARK: Bytes

    private var atEnd: Bool { position == bytes.count }
    private var peek: UInt8? { atEnd ? nil : bytes[position] }

    private mutating func skipBlanks() {
        while !atEnd, Self.isBlank(bytes[position]) { position += 1 }
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            true
        default: false
        }
    }

    static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }

    // MARK: Errors

    private func error(at offset: Int, _ message: String) -> NodeSetError {
        NodeSetError(column: location(of: offset).column, message: message)
    }

    private func invalidCharacter(at offset: Int, _ context: String) -> NodeSetError {
        let (column, character) = location(of: offset)
        let shown = character.map { String(reflecting: $0) } ?? "end of text"
        return NodeSetError(column: column, message: "unexpected \(shown) \(context)")
    }

    private func badNameCharacter(at offset: Int) -> NodeSetError {
        invalidCharacter(at: offset, "in a node name (use letters, digits, '-', '_' and '.')")
    }

    private func strayBracket(at offset: Int) -> NodeSetError {
        error(at: offset, "']' without a matching '['")
    }

    private func unclosed(_ open: Int) -> NodeSetError {
        error(at: open, "'[' is not closed by ']'")
    }

    private func tooMany(at offset: Int) -> NodeSetError {
        error(at: offset, "expands to more than 1,000,000 names")
    }

    /// The 1-based column (in characters) of the character holding byte `offset`, and that
    /// character; past the end, one more than the text's length and `nil`.
    private func location(of offset: Int) -> (column: Int, character: Character?) {
        var column = 1
        var consumed = 0
        for character in text {
            consumed += character.utf8.count
            if consumed > offset { return (column, character) }
            column += 1
        }
        return (column, nil)
    }
}
