/// PostgreSQL's text format for arrays: `{a,"b c",NULL,"x\"y"}`.
///
/// Pure functions, no I/O: ``encode(_:)`` writes a one-dimensional literal with every element
/// quoted; ``parse(_:)`` reads what the server sends, including dimension decorations
/// (`[0:1]={…}`) and nested dimensions (flattened in row-major order).
public enum ArrayLiteral {
    /// A literal with every element double-quoted (backslash and quote escaped) and `nil` as `NULL`.
    static func encode(_ elements: [String?]) -> String {
        // Byte by byte: backslash and quote are ASCII, and no byte of a multi-byte UTF-8
        // sequence is ASCII, so escaping bytes escapes exactly those characters.
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(2 + elements.reduce(0) { $0 + ($1?.utf8.count ?? 4) + 3 })
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard let element else {
                out.append(contentsOf: "NULL".utf8)
                continue
            }
            out.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The elements of an array literal, `nil` for `NULL`; `nil` when the text is not an array literal.
    public static func parse(_ text: String) -> [String?]? {
        var parser = Parser(bytes: Array(text.utf8))
        return parser.parseLiteral()
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        var elements: [String?] = []

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func parseLiteral() -> [String?]? {
            skipSpaces()
            if peek == UInt8(ascii: "[") {
                // Dimension decoration: [lower:upper]...=
                guard let equals = bytes[index...].firstIndex(of: UInt8(ascii: "=")) else { return nil }
                index = equals + 1
                skipSpaces()
            }
            guard parseDimension() else { return nil }
            skipSpaces()
            return index == bytes.count ? elements : nil
        }

        private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        private mutating func skipSpaces() {
            while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { index += 1 }
        }

        /// `{ element (, element)* }` or `{}`, where an element may itself be a dimension.
        private mutating func parseDimension() -> Bool {
            guard peek == UInt8(ascii: "{") else { return false }
            index += 1
            skipSpaces()
            if peek == UInt8(ascii: "}") {
                index += 1
                return true
            }
            while true {
                skipSpaces()
                if peek == UInt8(ascii: "{") {
                    guard parseDimension() else { return false }
                } else {
                    guard parseElement() else { return false }
                }
                skipSpaces()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"):
                    index += 1
                    return true
                default: return false
                }
            }
        }

        private mutating func parseElement() -> Bool {
            var value: [UInt8] = []
            if peek == UInt8(ascii: "\"") {
                index += 1
                while true {
                    guard let c = peek else { return false }
                    index += 1
                    if c == UInt8(ascii: "\"") { break }
                    if c == UInt8(ascii: "\\") {
                        guard let escaped = peek else { return false }
                        index += 1
                        value.append(escaped)
                    } else {
                        value.append(c)
                    }
                }
                elements.append(String(decoding: value, as: UTF8.self))
                return true
            }
            // Unquoted: whitespace around the element is dropped, escaped characters are kept.
            var sawEscape = false
            var significant = 0
            while let c = peek, c != UInt8(ascii: ","), c != UInt8(ascii: "}") {
                guard c != UInt8(ascii: "{"), c != UInt8(ascii: "\""), c != 0x5C || index + 1 < bytes.count else { return false }
                index += 1
                if c == 0x5C {
                    value.append(bytes[index])
                    index += 1
                    sawEscape = true
                    significant = value.count
                } else {
                    value.append(c)
                    if !(c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D) { significant = value.count }
                }
            }
            value.removeLast(value.count - significant)
            guard !value.isEmpty else { return false }
            let text = String(decoding: value, as: UTF8.self)
            elements.append(!sawEscape && text.uppercased() == "NULL" ? nil : text)
            return true
        }
    }
}
