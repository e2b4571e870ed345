import CIM

extension ScriptOutput {
    /// Parses a whole discovery or update output.
    ///
    /// - Parameters:
    ///   - bytes: the output, byte-exact.
    ///   - fields: the number of fields every line must have (nil: any number).
    ///   - meaning: what those fields are, for the message when a line has another number of
    ///     them, e.g. "the key properties in KeyPropertyOrder" gives
    ///     `expected 4 fields (the key properties in KeyPropertyOrder), found 3`.
    /// - Returns: the lines that parsed and every error (at most `errorLimit`; parsing stops at
    ///   the limit). A line with an error is not among the lines. Errors come in line order,
    ///   and by column within a line; each field reports at most one error, except that
    ///   malformed UTF-8 is always reported (and ends the line).
    public static func parse(_ bytes: [UInt8], fields: Int?, meaning: String? = nil) -> (lines: [OutputLine], errors: [OutputError]) {
        var lines: [OutputLine] = []
        var errors: [OutputError] = []
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            var number = 0
            while start < buffer.count {
                var end = start
                while end < buffer.count && buffer[end] != lineEnd { end += 1 }
                number += 1
                // CR LF ends a line like LF (scripts and tools that write CR LF); a CR anywhere
                // else is a control character, refused in values.
                let contentEnd = end > start && buffer[end - 1] == carriageReturn ? end - 1 : end
                if contentEnd > start {
                    var parser = OutputLineParser(bytes: buffer, start: start, end: contentEnd, number: number)
                    if let line = parser.parse(expected: fields, meaning: meaning) { lines.append(line) }
                    errors += parser.errors
                    if errors.count >= errorLimit {
                        errors.removeLast(errors.count - errorLimit)
                        return
                    }
                }
                start = end + 1
            }
        }
        return (lines, errors)
    }
}

/// Reads the fields of one line (the bytes between two LFs), collecting its errors.
struct OutputLineParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let end: Int
    let number: Int
    var index: Int
    /// The column of `bytes[index]`.
    var column = 1
    var errors: [OutputError] = []

    init(bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int, number: Int) {
        self.bytes = bytes
        self.end = end
        self.number = number
        self.index = start
    }

    enum FieldResult {
        case field(OutputField)
        /// The field has an error (recorded); the parser is at the next RS or the line's end.
        case failed
        /// Malformed UTF-8 (recorded): the rest of the line is not read.
        case abandoned
    }

    static let misplacedEmptyMark = "GS (an empty value) must be a whole field or a whole array entry"
    static let emptyEntry = "an array entry may not be empty: write GS"

    /// C0 controls but TAB (RS, GS, US and LF are the format's own), DEL and the C1 controls:
    /// stored, they would reach terminals and pages verbatim (ESC sequences, a CR that
    /// overwrites what was shown), so values may not hold them (docs/wire-formats.md).
    static func isRefusedControl(_ value: UInt32) -> Bool {
        (value < 0x20 && value != 0x09) || (0x7F...0x9F).contains(value)
    }

    static func controlMessage(_ scalar: Unicode.Scalar) -> String {
        "control character \(WireText.describe(scalar)) is not allowed in a value (TAB is; write \\n for a line break)"
    }

    mutating func record(_ message: String, at column: Int) {
        errors.append(OutputError(line: number, column: column, message: message))
    }

    mutating func parse(expected: Int?, meaning: String?) -> OutputLine? {
        let start = index
        if (start..<end).allSatisfy({ bytes[$0] == ScriptOutput.fieldSeparator }) {
            let count = end - start
            record("the line holds only field separators (\(count) RS) and no value: write GS for an empty value", at: 1)
            return nil
        }
        var fields: [OutputField] = []
        var columns: [Int] = []
        var failed = false
        while true {
            columns.append(column)
            switch parseField() {
            case .field(let field): fields.append(field)
            case .failed: failed = true
            case .abandoned: return nil
            }
            if index == end { break }
            index += 1  // RS
            column += 1
        }
        if let expected, columns.count != expected {
            let what = expected == 1 ? "1 field" : "\(expected) fields"
            let message = "expected \(what)" + (meaning.map { " (\($0))" } ?? "") + ", found \(columns.count)"
            // Too few: where the next field should start. Too many: the RS before the first extra one.
            record(message, at: columns.count < expected ? column : columns[expected] - 1)
            errors.sort { $0.column < $1.column }
            failed = true
        }
        return failed ? nil : OutputLine(number: number, fields: fields, fieldColumns: columns)
    }

    /// Reads one field, up to the next RS or the end of the line.
    mutating func parseField() -> FieldResult {
        let fieldColumn = column
        var text: [UInt8] = []
        var entryContent = 0  // scalars other than GS in the current array entry
        var entryMark: Int? = nil  // column of the GS that began the current entry
        var sawEntrySeparator = false
        var failure: (column: Int, message: String)? = nil
        while index < end, bytes[index] != ScriptOutput.fieldSeparator {
            let byte = bytes[index]
            if failure != nil {
                // Skip to the next field, still checking UTF-8 so that columns stay exact.
                guard let (_, length) = scalar(at: index) else { return abandon(failure) }
                index += length
                column += 1
                continue
            }
            switch byte {
            case ScriptOutput.escape:
                let next = index + 1
                if next == end || bytes[next] == ScriptOutput.fieldSeparator {
                    failure = (column, "a backslash ends the field: write \\\\ for a backslash")
                    index = next
                    column += 1
                    continue
                }
                guard let (escaped, length) = scalar(at: next) else {
                    column += 1
                    return abandon(nil, at: next)
                }
                switch escaped {
                case "n": text.append(ScriptOutput.lineEnd)
                case "\\": text.append(ScriptOutput.escape)
                default: failure = (column, "invalid escape \\\(WireText.describe(escaped)) (only \\n and \\\\)")
                }
                if failure == nil, let mark = entryMark { failure = (mark, Self.misplacedEmptyMark) }
                entryContent += 1
                index = next + length
                column += 2
            case ScriptOutput.emptyMark:
                if entryContent == 0 && entryMark == nil {
                    entryMark = column
                } else {
                    failure = (entryMark ?? column, Self.misplacedEmptyMark)
                }
                text.append(byte)
                index += 1
                column += 1
            case ScriptOutput.entrySeparator:
                if entryContent == 0 && entryMark == nil { failure = (column, Self.emptyEntry) }
                sawEntrySeparator = true
                entryContent = 0
                entryMark = nil
                text.append(byte)
                index += 1
                column += 1
            case 0:
                failure = (column, "NUL (0x00) is not allowed in a value")
                index += 1
                column += 1
            default:
                if byte < 0x80 {
                    if Self.isRefusedControl(UInt32(byte)) {
                        failure = (column, Self.controlMessage(Unicode.Scalar(byte)))
                        index += 1
                        column += 1
                        continue
                    }
                    text.append(byte)
                    index += 1
                } else {
                    guard let (decoded, length) = scalar(at: index) else { return abandon(nil) }
                    if Self.isRefusedControl(decoded.value) {
                        failure = (column, Self.controlMessage(decoded))
                        index += length
                        column += 1
                        continue
                    }
                    text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<(index + length)]))
                    index += length
                }
                if let mark = entryMark { failure = (mark, Self.misplacedEmptyMark) }
                entryContent += 1
                column += 1
            }
        }
        if failure == nil {
            if text.isEmpty {
                failure = (fieldColumn, "a field may not be empty: write GS")
            } else if sawEntrySeparator && entryContent == 0 && entryMark == nil {
                failure = (column, Self.emptyEntry)
            }
        }
        if let failure {
            record(failure.message, at: failure.column)
            return .failed
        }
        if text.count == 1 && text[0] == ScriptOutput.emptyMark { return .field(.empty) }
        return .field(.value(String(decoding: text, as: UTF8.self)))
    }

    func scalar(at i: Int) -> (scalar: Unicode.Scalar, length: Int)? {
        WireText.decode(bytes, at: i, end: end)
    }

    /// Records malformed UTF-8 at `at` (the current column), after an error the field already had.
    mutating func abandon(_ earlier: (column: Int, message: String)?, at position: Int? = nil) -> FieldResult {
        if let earlier { record(earlier.message, at: earlier.column) }
        let position = position ?? index
        record("invalid UTF-8 (\(WireText.describeMalformed(bytes, at: position, end: end))); the rest of the line is not read", at: column)
        return .abandoned
    }
}
