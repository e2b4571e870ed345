import Inventory
import Testing

/// Malformed script output: every error with its exact line, column and message.
@Suite struct ScriptOutputErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var fields: Int?
        var meaning: String?
        var errors: [String]
        var testDescription: String { name }

        init(_ name: String, _ text: String, fields: Int? = nil, meaning: String? = nil, _ errors: String...) {
            self.init(name, Array(text.utf8), fields: fields, meaning: meaning, errors)
        }

        init(_ name: String, _ bytes: [UInt8], fields: Int? = nil, meaning: String? = nil, _ errors: [String]) {
            self.name = name
            self.bytes = bytes
            self.fields = fields
            self.meaning = meaning
            self.errors = errors
        }
    }

    static let rs = "\u{1E}", gs = "\u{1D}", us = "\u{1F}"
    static let escape = "(only \\n and \\\\)"
    static let misplacedGS = "GS (an empty value) must be a whole field or a whole array entry"
    static let emptyEntry = "an array entry may not be empty: write GS"
    static let emptyField = "a field may not be empty: write GS"
    static let keys = "the key properties in KeyPropertyOrder"

    static let cases: [Case] = [
        Case("unknown escape", "a\\qb\n", fields: 1, "line 1, column 2: invalid escape \\q \(escape)"),
        Case("escape of a tab", "a\\\tb\n", "line 1, column 2: invalid escape \\U+0009 (TAB) \(escape)"),
        Case("escape of a non-ASCII letter", "Ä\\é\n", "line 1, column 2: invalid escape \\é \(escape)"),
        Case("escape of a quote", "\"\\\"\"\n", "line 1, column 2: invalid escape \\\" \(escape)"),
        Case(
            "backslash at the end of the line", "abc\\\n", fields: 1,
            "line 1, column 4: a backslash ends the field: write \\\\ for a backslash"),
        Case(
            "backslash before RS", "a\\\(rs)b\n", fields: 2,
            "line 1, column 2: a backslash ends the field: write \\\\ for a backslash"),
        Case(
            "backslash at the end of the output", "ok\nx\\", fields: 1,
            "line 2, column 2: a backslash ends the field: write \\\\ for a backslash"),
        Case("two RS in a row", "a\(rs)\(rs)b\n", fields: 3, "line 1, column 3: \(emptyField)"),
        Case("RS at the start", "\(rs)a\n", fields: 2, "line 1, column 1: \(emptyField)"),
        Case("trailing RS", "a\(rs)\n", fields: 1, "line 1, column 2: expected 1 field, found 2", "line 1, column 3: \(emptyField)"),
        Case("trailing RS, count right", "a\(rs)b\(rs)\n", fields: 3, "line 1, column 5: \(emptyField)"),
        Case(
            "only RS", "\(rs)\(rs)\n", fields: 3,
            "line 1, column 1: the line holds only field separators (2 RS) and no value: write GS for an empty value"),
        Case(
            "too few fields", "x\nx\nabcd\(rs)efgh\(rs)ijk\n", fields: 4, meaning: keys,
            "line 1, column 2: expected 4 fields (\(keys)), found 1",
            "line 2, column 2: expected 4 fields (\(keys)), found 1",
            "line 3, column 14: expected 4 fields (\(keys)), found 3"),
        Case("too many fields", "a\(rs)b\(rs)c\(rs)d\n", fields: 2, "line 1, column 4: expected 2 fields, found 4"),
        Case("too few fields, CR LF line end", "a\(rs)b\r\n", fields: 3, "line 1, column 4: expected 3 fields, found 2"),
        Case(
            "CR inside a value", "a\rb\n",
            "line 1, column 2: control character U+000D (CR) is not allowed in a value (TAB is; write \\n for a line break)"),
        Case("GS after a value", "a\(gs)\n", "line 1, column 2: \(misplacedGS)"),
        Case("GS before a value", "\(gs)a\n", "line 1, column 1: \(misplacedGS)"),
        Case("two GS", "\(gs)\(gs)\n", "line 1, column 1: \(misplacedGS)"),
        Case("GS before an escape", "\(gs)\\n\n", "line 1, column 1: \(misplacedGS)"),
        Case("GS inside an array entry", "a\(us)\(gs)x\n", "line 1, column 3: \(misplacedGS)"),
        Case("two US in a row", "a\(us)\(us)b\n", "line 1, column 3: \(emptyEntry)"),
        Case("US at the start", "\(us)a\n", "line 1, column 1: \(emptyEntry)"),
        Case("US at the end", "k\(rs)a\(us)\n", fields: 2, "line 1, column 5: \(emptyEntry)"),
        Case("NUL", "a\u{0}b\n", "line 1, column 2: NUL (0x00) is not allowed in a value"),
        Case("invalid byte", [0x61, 0xFF, 0x62, 0x0A], fields: 1, ["line 1, column 2: invalid UTF-8 (0xFF); the rest of the line is not read"]),
        Case("bad continuation", [0xC3, 0x28, 0x0A], ["line 1, column 1: invalid UTF-8 (0xC3 0x28); the rest of the line is not read"]),
        Case("overlong slash", [0x41, 0x1E, 0xC0, 0xAF], fields: 2, ["line 1, column 3: invalid UTF-8 (0xC0); the rest of the line is not read"]),
        Case(
            "surrogate", Array("é".utf8) + [0xED, 0xA0, 0x80], ["line 1, column 2: invalid UTF-8 (0xED 0xA0 0x80); the rest of the line is not read"]),
        Case(
            "above U+10FFFF", [0xF4, 0x90, 0x80, 0x80], ["line 1, column 1: invalid UTF-8 (0xF4 0x90 0x80 0x80); the rest of the line is not read"]),
        Case(
            "truncated sequence", Array("ab".utf8) + [0xE2, 0x82, 0x0A] + Array("ok".utf8), fields: 1,
            ["line 1, column 3: invalid UTF-8 (0xE2 0x82); the rest of the line is not read"]),
        Case("stray continuation byte", [0x80], ["line 1, column 1: invalid UTF-8 (0x80); the rest of the line is not read"]),
        Case("invalid UTF-8 after a backslash", [0x5C, 0xFF], ["line 1, column 2: invalid UTF-8 (0xFF); the rest of the line is not read"]),
        Case(
            "invalid UTF-8 after an error in the field", Array("\\q".utf8) + [0xFF, 0x1E, 0x61], fields: 2,
            [
                "line 1, column 1: invalid escape \\q \(escape)",
                "line 1, column 3: invalid UTF-8 (0xFF); the rest of the line is not read",
            ]),
        Case("columns count characters", "ok\n\nÄö日\\x\n", fields: 1, "line 3, column 4: invalid escape \\x \(escape)"),
        Case(
            "one error per field, every field", "\\q\(rs)a\(us)\(rs)\(gs)\(gs)\n", fields: 3,
            "line 1, column 1: invalid escape \\q \(escape)", "line 1, column 6: \(emptyEntry)", "line 1, column 7: \(misplacedGS)"),
        Case(
            "errors on several lines, good lines between", "\\q\ngood\n\(rs)\nalso good\na\(gs)", fields: 1,
            "line 1, column 1: invalid escape \\q \(escape)",
            "line 3, column 1: the line holds only field separators (1 RS) and no value: write GS for an empty value",
            "line 5, column 2: \(misplacedGS)"),
    ]

    @Test(arguments: cases)
    func reportsPreciseErrors(_ c: Case) {
        let (lines, errors) = ScriptOutput.parse(c.bytes, fields: c.fields, meaning: c.meaning)
        #expect(errors.map(\.description) == c.errors)
        // A line with an error is not returned; the others are.
        let bad = Set(errors.map(\.line))
        #expect(lines.allSatisfy { !bad.contains($0.number) })
    }

    @Test func goodLinesAroundBadOnesAreReturned() {
        let (lines, errors) = ScriptOutput.parse(Array("\\q\ngood\n\u{1E}\nalso good\na\u{1D}".utf8), fields: 1)
        #expect(errors.count == 3)
        #expect(lines.map(\.number) == [2, 4])
        #expect(lines.map(\.fields) == [[.value("good")], [.value("also good")]])
    }

    @Test func stopsAtTheErrorLimit() {
        let output = Array(String(repeating: "\\q\n", count: 150).utf8) + Array("fine\n".utf8)
        let (lines, errors) = ScriptOutput.parse(output, fields: 1)
        #expect(errors.count == ScriptOutput.errorLimit)
        #expect(errors.last?.line == 100)
        #expect(lines.isEmpty)
    }

    @Test func manyMalformedInputs() {
        #expect(Self.cases.count >= 25)
    }
}
