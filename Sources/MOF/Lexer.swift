import CIM

/// Turns the bytes of a MOF file into tokens (DSP0004 Annex A), reporting lexical errors
/// with their exact place and recovering so that one bad literal does not hide the rest.
///
/// Works directly on UTF-8 bytes: identifiers, numbers and punctuation are ASCII; bytes of
/// 0x80 and above may appear in identifiers (DSP0004's UCS0080TOFFEF) and in literals.
struct Lexer {
    let bytes: UnsafeBufferPointer<UInt8>
    let file: SourceFile
    var position = 0
    var log = DiagnosticLog()

    init(bytes: UnsafeBufferPointer<UInt8>, file: SourceFile) {
        self.bytes = bytes
        self.file = file
    }

    @inline(__always) func byte(at index: Int) -> UInt8 {
        index < bytes.count ? bytes[index] : 0
    }

    mutating func error(_ message: String, at offset: Int) {
        log.error(message, in: file, at: offset)
    }

    /// The next token; `.end` at the end of the input (repeatedly).
    mutating func next() -> Token {
        while true {
            skipTrivia()
            guard position < bytes.count else { return Token(kind: .end, start: bytes.count, end: bytes.count) }
            let start = position
            let c = bytes[position]
            switch c {
            case UInt8(ascii: "{"): return punctuation(.leftBrace)
            case UInt8(ascii: "}"): return punctuation(.rightBrace)
            case UInt8(ascii: "("): return punctuation(.leftParen)
            case UInt8(ascii: ")"): return punctuation(.rightParen)
            case UInt8(ascii: "["): return punctuation(.leftBracket)
            case UInt8(ascii: "]"): return punctuation(.rightBracket)
            case UInt8(ascii: ";"): return punctuation(.semicolon)
            case UInt8(ascii: ","): return punctuation(.comma)
            case UInt8(ascii: ":"): return punctuation(.colon)
            case UInt8(ascii: "="): return punctuation(.equals)
            case UInt8(ascii: "\""): return stringLiteral()
            case UInt8(ascii: "'"): if let t = charLiteral() { return t }
            case UInt8(ascii: "$"):
                position += 1
                let nameStart = position
                while position < bytes.count, Self.isIdentifierByte(bytes[position]) { position += 1 }
                if position > nameStart, !Self.isDigit(bytes[nameStart]) {
                    return Token(kind: .alias, start: start, end: position)
                }
                error("expected an alias name after '$'", at: start)
            case UInt8(ascii: "#"):
                position += 1
                let wordStart = position
                while position < bytes.count, Self.isIdentifierByte(bytes[position]) { position += 1 }
                if Self.equalsIgnoringCase(bytes, wordStart, position, "pragma") {
                    return Token(kind: .pragma, start: start, end: position)
                }
                error("unexpected '#': the only directive MOF knows is '#pragma'", at: start)
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"):
                if let t = numberLiteral() { return t }
            default:
                if Self.isIdentifierStart(c) {
                    position += 1
                    while position < bytes.count, Self.isIdentifierByte(bytes[position]) { position += 1 }
                    return Token(kind: .identifier, start: start, end: position)
                }
                position += 1
                error("unexpected character \(Self.describe(c))", at: start)
            }
        }
    }

    @inline(__always) private mutating func punctuation(_ kind: Token.Kind) -> Token {
        position += 1
        return Token(kind: kind, start: position - 1, end: position)
    }

    /// Skips whitespace (space, tab, CR, LF, form feed, vertical tab) and comments.
    private mutating func skipTrivia() {
        while position < bytes.count {
            let c = bytes[position]
            if c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D || c == 0x0C || c == 0x0B {
                position += 1
            } else if c == UInt8(ascii: "/"), byte(at: position + 1) == UInt8(ascii: "/") {
                position += 2
                while position < bytes.count, bytes[position] != 0x0A { position += 1 }
            } else if c == UInt8(ascii: "/"), byte(at: position + 1) == UInt8(ascii: "*") {
                let start = position
                position += 2
                var closed = false
                while position + 1 < bytes.count {
                    if bytes[position] == UInt8(ascii: "*"), bytes[position + 1] == UInt8(ascii: "/") {
                        position += 2
                        closed = true
                        break
                    }
                    position += 1
                }
                if !closed {
                    position = bytes.count
                    error("unterminated block comment: '/*' has no closing '*/'", at: start)
                }
            } else if c == 0xEF, byte(at: position + 1) == 0xBB, byte(at: position + 2) == 0xBF, position == 0 {
                position += 3  // UTF-8 byte order mark
            } else {
                return
            }
        }
    }

    // MARK: Character classes

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
    @inline(__always) static func isIdentifierStart(_ c: UInt8) -> Bool {
        (c | 0x20) &- 0x61 < 26 || c == UInt8(ascii: "_") || c >= 0x80
    }
    @inline(__always) static func isIdentifierByte(_ c: UInt8) -> Bool { isIdentifierStart(c) || isDigit(c) }
    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8? {
        if isDigit(c) { return c - 0x30 }
        let lower = c | 0x20
        if lower >= 0x61, lower <= 0x66 { return lower - 0x61 + 10 }
        return nil
    }

    static func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ word: StaticString) -> Bool {
        guard end - start == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for i in 0..<(end - start) {
            let c = bytes[start + i]
            let folded = (c &- 0x41 < 26) ? c | 0x20 : c
            if folded != w[i] { return false }
        }
        return true
    }

    static func describe(_ c: UInt8) -> String {
        if c >= 0x21, c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return "0x" + String(c, radix: 16, uppercase: true)
    }
}
