import CIM

/// String, char16 and number literals (DSP0004 Annex A): scanning with exact error places,
/// and decoding of the escapes `\b \t \n \f \r \" \' \\` and `\x`/`\X` with 1–4 hex digits.
extension Lexer {
    private static let backslash = UInt8(ascii: "\\")
    private static let quote = UInt8(ascii: "\"")
    private static let apostrophe = UInt8(ascii: "'")

    mutating func stringLiteral() -> Token {
        let start = position
        position += 1
        var hasEscapes = false
        while position < bytes.count {
            let c = bytes[position]
            if c == Self.quote {
                position += 1
                return Token(kind: .string, start: start, end: position, payload: 1, flag: hasEscapes)
            }
            if c == Self.backslash {
                hasEscapes = true
                _ = scanEscape()
                continue
            }
            if c == 0x0A {
                error("unterminated string literal: a string must end on the line where it starts (write \\n for a line break)", at: start)
                return Token(kind: .string, start: start, end: position, payload: 0, flag: hasEscapes)
            }
            position += 1
        }
        error("unterminated string literal: the file ends inside it", at: start)
        return Token(kind: .string, start: start, end: position, payload: 0, flag: hasEscapes)
    }

    /// Scans the escape sequence at `position` (which holds a backslash), reports a bad one,
    /// and returns the UTF-16 code unit it stands for (nil when invalid).
    mutating func scanEscape() -> UInt16? {
        let start = position
        let c = byte(at: position + 1)
        switch c {
        case UInt8(ascii: "b"), UInt8(ascii: "t"), UInt8(ascii: "n"), UInt8(ascii: "f"), UInt8(ascii: "r"),
            Self.quote, Self.apostrophe, Self.backslash:
            position += 2
            return Self.simpleEscape(c)
        case UInt8(ascii: "x"), UInt8(ascii: "X"):
            position += 2
            var value: UInt32 = 0
            var digits = 0
            while digits < 4, let h = Self.hexValue(byte(at: position)), position < bytes.count {
                value = value << 4 | UInt32(h)
                digits += 1
                position += 1
            }
            if digits == 0 {
                error("invalid escape sequence '\\\(Character(Unicode.Scalar(c)))': expected 1 to 4 hexadecimal digits", at: start)
                return nil
            }
            if value >= 0xD800, value <= 0xDFFF {
                error("invalid escape sequence: \\x\(String(value, radix: 16, uppercase: true)) is a UTF-16 surrogate, not a character", at: start)
                return nil
            }
            return UInt16(value)
        default:
            if position + 1 >= bytes.count || c == 0x0A {
                position += 1
                error("invalid escape sequence: '\\' at the end of the line", at: start)
                return nil
            }
            position += 1
            let shown = decodeScalar()
            error("invalid escape sequence '\\\(shown.map { String(Character($0)) } ?? "?")'", at: start)
            return nil
        }
    }

    static func simpleEscape(_ c: UInt8) -> UInt16 {
        switch c {
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "t"): 0x09
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "r"): 0x0D
        default: UInt16(c)
        }
    }

    /// Decodes one UTF-8 scalar at `position` and advances past it; nil (advancing one byte)
    /// for invalid UTF-8.
    mutating func decodeScalar() -> Unicode.Scalar? {
        let c = bytes[position]
        let length = c < 0x80 ? 1 : c >> 5 == 0b110 ? 2 : c >> 4 == 0b1110 ? 3 : c >> 3 == 0b11110 ? 4 : 0
        guard length > 0, position + length <= bytes.count else {
            position += 1
            return nil
        }
        var decoder = UTF8()
        var iterator = UnsafeBufferPointer(rebasing: bytes[position..<(position + length)]).makeIterator()
        position += length
        if case .scalarValue(let s) = decoder.decode(&iterator) { return s }
        return nil
    }

    mutating func charLiteral() -> Token? {
        let start = position
        position += 1
        let c = byte(at: position)
        if c == Self.apostrophe {
            position += 1
            error("empty char16 literal: a char16 holds exactly one character", at: start)
            return nil
        }
        if position >= bytes.count || c == 0x0A {
            error("unterminated char16 literal", at: start)
            return nil
        }
        var unit: UInt16?
        if c == Self.backslash {
            unit = scanEscape()
        } else if let scalar = decodeScalar() {
            if scalar.value > 0xFFFF {
                error("character U+\(String(scalar.value, radix: 16, uppercase: true)) does not fit in a char16", at: start)
            } else {
                unit = UInt16(scalar.value)
            }
        } else {
            error("invalid UTF-8 in char16 literal", at: start)
        }
        if byte(at: position) == Self.apostrophe, position < bytes.count {
            position += 1
            guard let unit else { return nil }
            return Token(kind: .char16, start: start, end: position, payload: UInt64(unit))
        }
        // Find where the literal was meant to end, to say what is wrong and resume after it.
        var scan = position
        while scan < bytes.count, bytes[scan] != 0x0A, bytes[scan] != Self.apostrophe { scan += 1 }
        if scan < bytes.count, bytes[scan] == Self.apostrophe {
            error("char16 literal holds more than one character (use a string for text)", at: start)
            position = scan + 1
        } else {
            error("unterminated char16 literal", at: start)
            position = scan
        }
        return nil
    }

    /// Scans a number starting at `position` (a sign, digit or '.'): decimal, binary (`101b`),
    /// octal (`017`), hexadecimal (`0x1F`) and real (`-1.5e3`). Returns nil after reporting when
    /// the characters do not form a number.
    mutating func numberLiteral() -> Token? {
        let start = position
        var negative = false
        var p = position
        if bytes[p] == UInt8(ascii: "+") || bytes[p] == UInt8(ascii: "-") {
            negative = bytes[p] == UInt8(ascii: "-")
            p += 1
        }
        let first = byte(at: p)
        guard p < bytes.count, Self.isDigit(first) || (first == UInt8(ascii: ".") && Self.isDigit(byte(at: p + 1))) else {
            position += 1
            error("unexpected character \(Self.describe(bytes[start]))", at: start)
            return nil
        }
        let bodyStart = p
        let isHex = first == UInt8(ascii: "0") && (byte(at: p + 1) | 0x20) == UInt8(ascii: "x")
        while p < bytes.count {
            let c = bytes[p]
            if Self.isIdentifierByte(c) || c == UInt8(ascii: ".") {
                p += 1
            } else if (c == UInt8(ascii: "+") || c == UInt8(ascii: "-")), !isHex, p > bodyStart,
                (bytes[p - 1] | 0x20) == UInt8(ascii: "e")
            {
                p += 1
            } else {
                break
            }
        }
        position = p
        let body = UnsafeBufferPointer(rebasing: bytes[bodyStart..<p])
        let text = String(decoding: bytes[start..<p], as: UTF8.self)

        func integer(radix: UInt64, digits: UnsafeBufferPointer<UInt8>, kind: String) -> Token? {
            var value: UInt64 = 0
            for d in digits {
                guard let v = Self.hexValue(d), UInt64(v) < radix else {
                    switch kind {
                    case "binary": error("invalid binary literal '\(text)': binary digits are 0 and 1", at: start)
                    case "octal": error("invalid octal literal '\(text)': octal digits are 0 to 7", at: start)
                    case "hexadecimal": error("invalid hexadecimal literal '\(text)'", at: start)
                    default: error("invalid number '\(text)'", at: start)
                    }
                    return nil
                }
                let (m, o1) = value.multipliedReportingOverflow(by: radix)
                let (s, o2) = m.addingReportingOverflow(UInt64(v))
                if o1 || o2 {
                    error("integer literal '\(text)' does not fit in 64 bits", at: start)
                    return nil
                }
                value = s
            }
            if negative, value > UInt64(Int64.max) + 1 {
                error("integer literal '\(text)' does not fit in 64 bits", at: start)
                return nil
            }
            return Token(kind: .integer, start: start, end: p, payload: value, flag: negative)
        }

        if isHex {
            let digits = UnsafeBufferPointer(rebasing: body[(body.startIndex + 2)...])
            if digits.isEmpty {
                error("invalid hexadecimal literal '\(text)': expected hexadecimal digits after '0x'", at: start)
                return nil
            }
            return integer(radix: 16, digits: digits, kind: "hexadecimal")
        }
        let last = body[body.count - 1] | 0x20
        let hasDot = body.contains(UInt8(ascii: "."))
        let hasExponent = body.contains { $0 | 0x20 == UInt8(ascii: "e") }
        if hasDot || (hasExponent && Self.isDigit(body[body.count - 1])) {
            return realLiteral(text: text, body: body, start: start, end: p)
        }
        if last == UInt8(ascii: "b"), body.count > 1, body.dropLast().allSatisfy(Self.isDigit) {
            return integer(radix: 2, digits: UnsafeBufferPointer(rebasing: body.dropLast()), kind: "binary")
        }
        if !body.allSatisfy(Self.isDigit) {
            error("invalid number '\(text)'", at: start)
            return nil
        }
        if body.count > 1, body[0] == UInt8(ascii: "0") {
            return integer(radix: 8, digits: UnsafeBufferPointer(rebasing: body.dropFirst()), kind: "octal")
        }
        return integer(radix: 10, digits: body, kind: "decimal")
    }

    /// `[+-] *digit "." 1*digit [("e"/"E") [+-] 1*digit]`, and `1*digit ("e"/"E") [+-] 1*digit`.
    private mutating func realLiteral(text: String, body: UnsafeBufferPointer<UInt8>, start: Int, end: Int) -> Token? {
        var i = 0
        var mantissaDigits = 0
        while i < body.count, Self.isDigit(body[i]) { i += 1; mantissaDigits += 1 }
        var fractionDigits = 0
        if i < body.count, body[i] == UInt8(ascii: ".") {
            i += 1
            while i < body.count, Self.isDigit(body[i]) { i += 1; fractionDigits += 1 }
            if fractionDigits == 0 {
                error("invalid real literal '\(text)': expected digits after the decimal point", at: start)
                return nil
            }
        }
        if i < body.count, body[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < body.count, body[i] == UInt8(ascii: "+") || body[i] == UInt8(ascii: "-") { i += 1 }
            var exponentDigits = 0
            while i < body.count, Self.isDigit(body[i]) { i += 1; exponentDigits += 1 }
            if exponentDigits == 0 {
                error("invalid real literal '\(text)': expected digits in the exponent", at: start)
                return nil
            }
        }
        guard i == body.count, mantissaDigits + fractionDigits > 0, let value = Double(text) else {
            error("invalid real literal '\(text)'", at: start)
            return nil
        }
        return Token(kind: .real, start: start, end: end, payload: value.bitPattern)
    }
}

/// Decoding of literal tokens into Swift values (after the lexer has validated them).
extension SourceFile {
    /// The text of a token, as written.
    func text(_ token: Token) -> String {
        String(decoding: bytes[token.start..<token.end], as: UTF8.self)
    }

    /// The value of a string literal token, escapes decoded.
    func stringValue(_ token: Token) -> String {
        let contentStart = token.start + 1
        let contentEnd = token.payload == 1 ? token.end - 1 : token.end
        guard contentEnd > contentStart else { return "" }
        if !token.flag { return String(decoding: bytes[contentStart..<contentEnd], as: UTF8.self) }
        var out: [UInt8] = []
        appendStringValue(token, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the UTF-8 bytes of a string literal's value, escapes decoded.
    func appendStringValue(_ token: Token, to out: inout [UInt8]) {
        let contentStart = token.start + 1
        let contentEnd = token.payload == 1 ? token.end - 1 : token.end
        guard contentEnd > contentStart else { return }
        if !token.flag {
            out.append(contentsOf: bytes[contentStart..<contentEnd])
            return
        }
        var i = contentStart
        while i < contentEnd {
            let c = bytes[i]
            guard c == UInt8(ascii: "\\"), i + 1 < contentEnd else {
                out.append(c)
                i += 1
                continue
            }
            let e = bytes[i + 1]
            if e | 0x20 == UInt8(ascii: "x") {
                var value: UInt32 = 0
                var j = i + 2
                while j < contentEnd, j < i + 6, let h = Lexer.hexValue(bytes[j]) {
                    value = value << 4 | UInt32(h)
                    j += 1
                }
                if j > i + 2, let scalar = Unicode.Scalar(value) {
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                }
                i = j > i + 2 ? j : i + 2
            } else {
                let unit = Lexer.simpleEscape(e)
                out.append(UInt8(truncatingIfNeeded: unit))
                i += 2
            }
        }
    }
}
