import CIM

/// The output format of discovery and update scripts (SPEC §4), byte-exact:
///
/// - a line per object, ended by LF (0x0A); fields separated by RS (0x1E);
/// - in a value, `\n` is a line feed and `\\` a backslash — no other escape exists;
/// - an empty value is the single character GS (0x1D);
/// - an array value's entries are separated by US (0x1F), an empty entry is GS.
///
/// Edge cases, as `parse` decides them (see also docs/wire-formats.md):
///
/// - The last line may lack its LF: it is a line all the same.
/// - Blank lines (nothing between two LFs) are skipped; they still count for line numbers.
///   A line of spaces is not blank: it is one field holding spaces.
/// - CR (0x0D) is data. A script that ends its lines with CR LF gets a CR at the end of every
///   last field; nothing is stripped silently, and the value's conversion reports it.
/// - The output must be UTF-8; a malformed sequence is an error at its column, and the rest of
///   that line is not read.
/// - NUL (0x00) is an error: PostgreSQL text cannot hold it.
/// - An empty field (two RS in a row, an RS at the start or the end of a line) is an error:
///   write GS. A line of RS only is one error.
/// - GS must be a whole field or a whole array entry; an empty array entry (two US in a row, or
///   a US at the start or end of a field) is an error: write GS.
/// - RS, GS and US have no escape: a value cannot contain them as data.
///
/// Columns count Unicode scalars from 1, in the raw line (an escape `\n` is two columns).
public enum ScriptOutput {
    /// LF: ends a line.
    public static let lineEnd: UInt8 = 0x0A
    /// RS: separates the fields of a line.
    public static let fieldSeparator: UInt8 = 0x1E
    /// GS: an empty field or an empty array entry.
    public static let emptyMark: UInt8 = 0x1D
    /// US: separates the entries of an array value.
    public static let entrySeparator: UInt8 = 0x1F
    /// Before LF, part of the line end (CR LF); anywhere else refused.
    static let carriageReturn: UInt8 = 0x0D
    /// The escape character, `\`.
    public static let escape: UInt8 = 0x5C
    /// `parse` stops after this many errors.
    public static let errorLimit = 100

    static let entrySeparatorScalar: Unicode.Scalar = "\u{1F}"
    static let emptyMarkString = "\u{1D}"

    /// One line of output: the fields separated by RS, ended by LF. In each value `\` becomes
    /// `\\` and a line feed `\n`; `.empty` and `.value("")` are written as GS.
    ///
    /// - Precondition: no value contains RS, which no escape can carry (it would split the
    ///   field). Check values that come from outside with `check(_:)` first: it also reports
    ///   what `parse` would reject (NUL, a misplaced GS, an empty array entry, no fields).
    public static func encodeLine(_ fields: [OutputField]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(fields.reduce(1) { $0 + $1.text.utf8.count + 1 })
        for (i, field) in fields.enumerated() {
            if i > 0 { out.append(fieldSeparator) }
            let text = field.text
            if text.isEmpty {
                out.append(emptyMark)
                continue
            }
            for byte in text.utf8 {
                switch byte {
                case escape: out += [escape, escape]
                case lineEnd: out += [escape, UInt8(ascii: "n")]
                case fieldSeparator: preconditionFailure("ScriptOutput.encodeLine: RS (0x1E) in field \(i + 1) cannot be written")
                default: out.append(byte)
                }
            }
        }
        out.append(lineEnd)
        return out
    }

    /// An array value: the entries joined by US, each empty entry (`.empty` or `.value("")`)
    /// written as GS. No entries — and a single empty entry, which the format cannot tell
    /// apart — give `.empty` (NULL).
    ///
    /// - Precondition: no entry contains RS or US (either would change the array's structure).
    public static func encodeArray(_ entries: [OutputField]) -> OutputField {
        if entries.isEmpty { return .empty }
        var text = ""
        for (i, entry) in entries.enumerated() {
            if i > 0 { text.unicodeScalars.append(entrySeparatorScalar) }
            let value = entry.text
            precondition(
                !value.utf8.contains(fieldSeparator) && !value.utf8.contains(entrySeparator),
                "ScriptOutput.encodeArray: entry \(i + 1) contains RS or US")
            text += value.isEmpty ? emptyMarkString : value
        }
        return text == emptyMarkString ? .empty : .value(text)
    }

    /// Why `fields` cannot be written as a line that `parse` reads back, or nil if it can.
    /// Line and column refer to the line `encodeLine` would write.
    public static func check(_ fields: [OutputField]) -> OutputError? {
        if fields.isEmpty { return OutputError(line: 1, column: 1, message: "a line needs at least one field") }
        var column = 1
        for field in fields {
            for scalar in field.text.unicodeScalars {
                if scalar.value == UInt32(fieldSeparator) {
                    return OutputError(line: 1, column: column, message: "RS (0x1E) cannot be written in a value: the format has no escape for it")
                }
                column += scalar == "\\" || scalar == "\n" ? 2 : 1
            }
            column += field.text.isEmpty ? 2 : 1
        }
        let (_, errors) = parse(encodeLine(fields), fields: fields.count)
        return errors.first
    }
}
