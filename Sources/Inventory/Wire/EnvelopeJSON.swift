import CIM

/// A strict JSON reader (RFC 8259) that remembers where every value starts, so that envelope
/// errors — a missing field, a wrong type, bad base64 — can name a line and column.
/// Foundation's decoders report neither (on Linux, every syntax error is "not valid JSON").
///
/// Strict: UTF-8 only, no byte order mark, no duplicate keys in an object, no trailing text,
/// nesting at most `depthLimit` deep.
enum EnvelopeJSON {
    static let depthLimit = 64

    struct Position: Hashable {
        var line: Int
        var column: Int
    }

    indirect enum Value {
        case object([Member])
        case array([Node])
        case string(String)
        /// The number's text, as written (validated against the JSON grammar).
        case number(String)
        case boolean(Bool)
        case null

        /// What the value is, for messages: "a string", "an array", "null".
        var kind: String {
            switch self {
            case .object: "an object"
            case .array: "an array"
            case .string: "a string"
            case .number(let text): "the number \(text)"
            case .boolean(let b): b ? "true" : "false"
            case .null: "null"
            }
        }
    }

    struct Member {
        var key: String
        var keyPosition: Position
        var value: Node
    }

    struct Node {
        var value: Value
        var position: Position
        /// The byte offset of the value's first character (a string's opening quote).
        var offset: Int
    }

    /// Parses a whole document.
    static func parse(_ bytes: [UInt8]) throws(EnvelopeError) -> Node {
        try bytes.withUnsafeBufferPointer { buffer throws(EnvelopeError) -> Node in
            var reader = Reader(bytes: buffer)
            return try reader.readDocument()
        }
    }

    /// The position of the scalar number `scalarIndex` (0-based) of the decoded text of the
    /// string that starts at byte `offset` (its opening quote) at `position`. Strings hold no raw
    /// line break, so only the column moves: each escape counts as the scalars written.
    static func position(ofScalar scalarIndex: Int, inStringAt offset: Int, _ position: Position, in bytes: [UInt8]) -> Position {
        var column = position.column + 1
        var i = offset + 1
        var decoded = 0
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), decoded < scalarIndex {
            if bytes[i] == UInt8(ascii: "\\") {
                let isUnicode = i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "u")
                let length = isUnicode ? 6 : 2
                // A surrogate pair (\uD83D\uDE00) is one decoded scalar written as twelve characters.
                if isUnicode, i + 11 < bytes.count, bytes[i + 2] | 0x20 == UInt8(ascii: "d"),
                    (bytes[i + 3] | 0x20) >= UInt8(ascii: "8"), bytes[i + 6] == UInt8(ascii: "\\")
                {
                    i += 12
                    column += 12
                } else {
                    i += length
                    column += length
                }
            } else {
                i += 1
                while i < bytes.count, bytes[i] & 0xC0 == 0x80 { i += 1 }
                column += 1
            }
            decoded += 1
        }
        return Position(line: position.line, column: column)
    }
}

extension EnvelopeJSON {
    /// The reader proper: a cursor over the bytes that keeps the current line and column.
    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        var line = 1
        var column = 1
        var depth = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        var position: Position { Position(line: line, column: column) }
        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        func fail(_ message: String, at position: Position? = nil) -> EnvelopeError {
            let position = position ?? self.position
            return EnvelopeError(line: position.line, column: position.column, message: message)
        }

        /// Moves past one ASCII byte.
        mutating func advance() {
            if bytes[index] == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
            index += 1
        }

        mutating func skipWhitespace() {
            while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { advance() }
        }

        mutating func readDocument() throws(EnvelopeError) -> Node {
            skipWhitespace()
            if current == nil { throw fail("the envelope is empty: expected a JSON object") }
            let node = try readValue()
            skipWhitespace()
            if index < bytes.count {
                throw fail("unexpected \(describeCurrent()) after the end of the envelope's JSON value")
            }
            return node
        }

        /// The character at the cursor, for a message.
        func describeCurrent() -> String {
            guard index < bytes.count else { return "end of the envelope" }
            guard let (scalar, _) = WireText.decode(bytes, at: index, end: bytes.count) else {
                return "invalid UTF-8 (\(WireText.describeMalformed(bytes, at: index, end: bytes.count)))"
            }
            return "'\(WireText.describe(scalar))'"
        }

        func truncated(_ what: String) -> EnvelopeError {
            fail("the envelope ends \(what) (truncated?)")
        }

        mutating func readValue() throws(EnvelopeError) -> Node {
            let start = position, offset = index
            guard let c = current else { throw truncated("where a value should be") }
            let value: Value
            switch c {
            case UInt8(ascii: "{"): value = try readObject()
            case UInt8(ascii: "["): value = try readArray()
            case UInt8(ascii: "\""): value = .string(try readString())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): value = .number(try readNumber())
            case UInt8(ascii: "t"): try readWord("true"); value = .boolean(true)
            case UInt8(ascii: "f"): try readWord("false"); value = .boolean(false)
            case UInt8(ascii: "n"): try readWord("null"); value = .null
            default: throw fail("expected a JSON value, found \(describeCurrent())")
            }
            return Node(value: value, position: start, offset: offset)
        }

        mutating func enter(_ what: String, at start: Position) throws(EnvelopeError) {
            depth += 1
            if depth > EnvelopeJSON.depthLimit {
                throw fail("\(what) nested more than \(EnvelopeJSON.depthLimit) deep", at: start)
            }
        }

        mutating func readObject() throws(EnvelopeError) -> Value {
            let open = position
            try enter("an object", at: open)
            defer { depth -= 1 }
            advance()  // {
            var members: [Member] = []
            var seen = Set<String>()
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                advance()
                return .object(members)
            }
            while true {
                skipWhitespace()
                let keyPosition = position
                guard let c = current else { throw truncated("inside the object opened at line \(open.line), column \(open.column)") }
                guard c == UInt8(ascii: "\"") else { throw fail("expected a field name in double quotes, found \(describeCurrent())") }
                let key = try readString()
                if !seen.insert(key).inserted { throw fail("duplicate field \"\(key)\"", at: keyPosition) }
                skipWhitespace()
                guard current != nil else { throw truncated("inside the object opened at line \(open.line), column \(open.column)") }
                guard current == UInt8(ascii: ":") else { throw fail("expected ':' after the field name \"\(key)\", found \(describeCurrent())") }
                advance()
                skipWhitespace()
                let value = try readValue()
                members.append(Member(key: key, keyPosition: keyPosition, value: value))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): advance()
                case UInt8(ascii: "}"): advance(); return .object(members)
                case nil: throw truncated("inside the object opened at line \(open.line), column \(open.column)")
                default: throw fail("expected ',' or '}' after the value of \"\(key)\", found \(describeCurrent())")
                }
            }
        }

        mutating func readArray() throws(EnvelopeError) -> Value {
            let open = position
            try enter("an array", at: open)
            defer { depth -= 1 }
            advance()  // [
            var elements: [Node] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                advance()
                return .array(elements)
            }
            while true {
                skipWhitespace()
                guard current != nil else { throw truncated("inside the array opened at line \(open.line), column \(open.column)") }
                elements.append(try readValue())
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): advance()
                case UInt8(ascii: "]"): advance(); return .array(elements)
                case nil: throw truncated("inside the array opened at line \(open.line), column \(open.column)")
                default: throw fail("expected ',' or ']' after an array element, found \(describeCurrent())")
                }
            }
        }

        mutating func readWord(_ word: String) throws(EnvelopeError) {
            let text = Array(word.utf8)
            for expected in text {
                guard let c = current else { throw truncated("inside the literal \(word)") }
                guard c == expected else { throw fail("expected \(word), found \(describeCurrent())") }
                advance()
            }
        }

        mutating func readNumber() throws(EnvelopeError) -> String {
            let start = index
            func digits(_ reader: inout Reader) -> Int {
                var count = 0
                while let c = reader.current, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                    reader.advance()
                    count += 1
                }
                return count
            }
            if current == UInt8(ascii: "-") { advance() }
            guard let first = current else { throw truncated("inside a number") }
            if first == UInt8(ascii: "0") {
                advance()
                if let c = current, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                    throw fail("a JSON number may not have a leading zero")
                }
            } else if digits(&self) == 0 {
                throw fail("expected a digit in a number, found \(describeCurrent())")
            }
            if current == UInt8(ascii: ".") {
                advance()
                if digits(&self) == 0 {
                    throw current == nil ? truncated("inside a number") : fail("expected a digit after the decimal point, found \(describeCurrent())")
                }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                advance()
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { advance() }
                if digits(&self) == 0 {
                    throw current == nil ? truncated("inside a number") : fail("expected a digit in the exponent, found \(describeCurrent())")
                }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }
    }
}
