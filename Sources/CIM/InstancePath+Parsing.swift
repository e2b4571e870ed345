/// A malformed instance path, with the 1-based column (in characters) where it goes wrong.
public struct InstancePathError: Error, CustomStringConvertible, Sendable, Hashable {
    public var message: String
    public var column: Int

    public init(_ message: String, column: Int) {
        self.message = message
        self.column = column
    }

    public var description: String { "column \(column): \(message)" }
}

extension InstancePath {
    /// Parses the untyped WBEM URI form (DSP0207, no namespace):
    /// `Class.Key="string",Num=-3,Flag=true,Letter='c',Ref="Other.K=\"v\""`.
    ///
    /// Quoted values come back as `.string` — whether one is a reference (a nested path) is for
    /// the key's declared type to say; numbers as `.signed`/`.unsigned`/`.real`; `true`/`false`
    /// (any case) as `.boolean`; single-quoted characters as `.char16`.
    public static func parse(_ text: String) throws(InstancePathError) -> InstancePath {
        var parser = PathParser(Array(text.unicodeScalars))
        return try parser.parsePath()
    }
}

/// A character-level parser for instance paths.
struct PathParser {
    let scalars: [Unicode.Scalar]
    var index = 0

    init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

    var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    func fail(_ message: String, at position: Int? = nil) -> InstancePathError {
        InstancePathError(message, column: (position ?? index) + 1)
    }

    static func isNameStart(_ c: Unicode.Scalar) -> Bool {
        (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || c == "_" || c.value >= 0x80
    }

    static func isNameCharacter(_ c: Unicode.Scalar) -> Bool {
        isNameStart(c) || (c >= "0" && c <= "9")
    }

    mutating func parseName(_ what: String) throws(InstancePathError) -> String {
        guard let c = current, Self.isNameStart(c) else {
            throw fail(current == nil ? "expected \(what), found the end" : "expected \(what), found '\(current!)'")
        }
        let start = index
        while let c = current, Self.isNameCharacter(c) { index += 1 }
        return text(start..<index)
    }

    /// The scalars in `range` as a String, built from UTF-8 bytes (appending scalar by scalar
    /// to a String is several times slower, and ingest parses a path per association line).
    func text(_ range: Range<Int>) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(range.count)
        for scalar in scalars[range] { Self.append(scalar, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func append(_ scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
        if scalar.isASCII { bytes.append(UInt8(scalar.value)) } else { bytes.append(contentsOf: String(scalar).utf8) }
    }

    mutating func parsePath() throws(InstancePathError) -> InstancePath {
        let className = try parseName("a class name")
        var keys: [InstancePath.Binding] = []
        if current == nil { return InstancePath(className: className, keys: [InstancePath.Binding]()) }
        guard current == "." else { throw fail("expected '.' after the class name \(className), found '\(current!)'") }
        index += 1
        while true {
            let nameStart = index
            let name = try parseName("a key property name")
            if keys.contains(where: { sameName($0.name, name) }) {
                throw fail("key \(name) appears twice", at: nameStart)
            }
            guard current == "=" else {
                throw fail(current == nil ? "expected '=' after \(name), found the end" : "expected '=' after \(name), found '\(current!)'")
            }
            index += 1
            keys.append(InstancePath.Binding(name: name, value: try parseValue(for: name)))
            guard let c = current else { break }
            guard c == "," else { throw fail("expected ',' between key bindings, found '\(c)'") }
            index += 1
        }
        return InstancePath(className: className, keys: keys)
    }

    mutating func parseValue(for name: String) throws(InstancePathError) -> Value {
        guard let c = current else { throw fail("expected a value for \(name), found the end") }
        switch c {
        case "\"":
            return .string(try parseQuoted(quote: "\""))
        case "'":
            let start = index
            let text = try parseQuoted(quote: "'")
            let units = Array(text.utf16)
            guard units.count == 1 else { throw fail("a char16 value holds exactly one character", at: start) }
            return .char16(units[0])
        default:
            let start = index
            while let c = current, c != "," { index += 1 }
            let word = text(start..<index)
            switch word.lowercased() {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            default: break
            }
            if let u = UInt64(word) { return .unsigned(u) }
            if let i = Int64(word) { return .signed(i) }
            if Self.isRealLiteral(word), let d = Double(word), d.isFinite { return .real(d) }
            if word.isEmpty { throw fail("expected a value for \(name)", at: start) }
            throw fail("the value of \(name) is not a number, boolean, or quoted string: \(word)", at: start)
        }
    }

    /// A real as DSP0004's realValue writes it, `[+-] *digit "." 1*digit [("e"/"E") [+-] 1*digit]`,
    /// or `1*digit ("e"/"E") [+-] 1*digit` — what the MOF lexer accepts. Swift's `Double(_:)`
    /// alone would also take `5.` and hexadecimal floats such as `0x1.8p1`.
    static func isRealLiteral(_ word: String) -> Bool {
        var bytes = Substring(word).utf8[...]
        func digits() -> Int {
            let count = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
            bytes = bytes.dropFirst(count)
            return count
        }
        if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let integerDigits = digits()
        var hasFraction = false
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            guard digits() > 0 else { return false }
            hasFraction = true
        }
        var hasExponent = false
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            guard digits() > 0, integerDigits > 0 || hasFraction else { return false }
            hasExponent = true
        }
        return bytes.isEmpty && (hasFraction || hasExponent)
    }

    /// A quoted value with `\"`, `\'`, `\\` and `\n` escapes (others keep the escaped character).
    mutating func parseQuoted(quote: Unicode.Scalar) throws(InstancePathError) -> String {
        let open = index
        index += 1
        var out: [UInt8] = []
        while let c = current {
            index += 1
            if c == quote { return String(decoding: out, as: UTF8.self) }
            if c == "\\" {
                guard let e = current else { break }
                index += 1
                switch e {
                case "n": out.append(0x0A)
                case "r": out.append(0x0D)
                case "t": out.append(0x09)
                default: Self.append(e, to: &out)
                }
            } else {
                Self.append(c, to: &out)
            }
        }
        throw fail("unterminated quoted value: no closing \(quote)", at: open)
    }
}
