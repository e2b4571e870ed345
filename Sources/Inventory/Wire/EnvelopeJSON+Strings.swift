import CIM

extension EnvelopeJSON.Reader {
    /// Reads a string starting at its opening quote: escapes decoded, UTF-8 checked, raw control
    /// characters rejected. A string without escapes (every base64 payload) is copied in one go.
    mutating func readString() throws(EnvelopeError) -> String {
        let open = position
        advance()  // "
        var out: [UInt8] = []
        var runStart = index
        while true {
            guard index < bytes.count else {
                throw fail("the envelope ends inside the string opened at line \(open.line), column \(open.column) (truncated?)")
            }
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                advance()
                return String(decoding: out, as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                try readEscape(into: &out)
                runStart = index
                continue
            }
            if c < 0x20 {
                throw fail("a control character (\(WireText.describe(Unicode.Scalar(c)))) must be escaped in a JSON string")
            }
            if c < 0x80 {
                index += 1
                column += 1
                continue
            }
            guard let (_, length) = WireText.decode(bytes, at: index, end: bytes.count) else {
                throw fail("invalid UTF-8 (\(WireText.describeMalformed(bytes, at: index, end: bytes.count)))")
            }
            index += length
            column += 1
        }
    }

    mutating func readEscape(into out: inout [UInt8]) throws(EnvelopeError) {
        let start = position
        advance()  // backslash
        guard let c = current else { throw fail("the envelope ends inside an escape (truncated?)") }
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5C, UInt8(ascii: "/"): 0x2F, UInt8(ascii: "b"): 0x08,
            UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
        ]
        if let byte = simple[c] {
            advance()
            out.append(byte)
            return
        }
        guard c == UInt8(ascii: "u") else {
            throw fail("invalid escape \\\(describeCurrent().dropFirst().dropLast()) in a JSON string", at: start)
        }
        advance()
        var value = try readHex4(escapeAt: start)
        if (0xD800...0xDBFF).contains(value) {
            guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                throw fail("\\u\(WireText.hex(value, digits: 4)) is a lone surrogate (a high surrogate needs a low one after it)", at: start)
            }
            let second = position
            advance()
            advance()
            let low = try readHex4(escapeAt: second)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw fail(
                    "\\u\(WireText.hex(value, digits: 4)) is a lone surrogate (followed by \\u\(WireText.hex(low, digits: 4)), not a low surrogate)",
                    at: start)
            }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(value) {
            throw fail("\\u\(WireText.hex(value, digits: 4)) is a lone surrogate (a low surrogate without a high one)", at: start)
        }
        out.append(contentsOf: String(Unicode.Scalar(value)!).utf8)
    }

    mutating func readHex4(escapeAt start: EnvelopeJSON.Position) throws(EnvelopeError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = current else { throw fail("the envelope ends inside a \\u escape (truncated?)") }
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw fail("a \\u escape needs four hexadecimal digits, found \(describeCurrent())")
            }
            value = value << 4 | UInt32(digit)
            advance()
        }
        return value
    }
}
