import Inventory
import Testing

/// Well-formed script output and the edge cases the format decides (docs/wire-formats.md).
@Suite struct ScriptOutputTests {
    static let rs = "\u{1E}", gs = "\u{1D}", us = "\u{1F}"

    func parse(_ text: String, fields: Int? = nil) -> (lines: [OutputLine], errors: [OutputError]) {
        ScriptOutput.parse(Array(text.utf8), fields: fields)
    }

    @Test func readsFieldsAndColumns() {
        let (lines, errors) = parse("eth0\(Self.rs)n1\nÄrger\(Self.rs)日本\(Self.rs)x\n")
        #expect(errors.isEmpty)
        #expect(
            lines == [
                OutputLine(number: 1, fields: [.value("eth0"), .value("n1")], fieldColumns: [1, 6]),
                OutputLine(number: 2, fields: [.value("Ärger"), .value("日本"), .value("x")], fieldColumns: [1, 7, 10]),
            ])
    }

    @Test func decodesTheTwoEscapes() {
        let (lines, errors) = parse("a\\nb\\\\c\\\\n\(Self.rs)\\\\\n")
        #expect(errors.isEmpty)
        #expect(lines.first?.fields == [.value("a\nb\\c\\n"), .value("\\")])
        #expect(lines.first?.fieldColumns == [1, 12])
    }

    @Test func lastLineWithoutLineFeedIsALine() {
        let (lines, errors) = parse("a\nb", fields: 1)
        #expect(errors.isEmpty)
        #expect(lines.map(\.number) == [1, 2])
        #expect(lines.last?.fields == [.value("b")])
    }

    @Test func blankLinesAreSkippedButCounted() {
        let (lines, errors) = parse("\n\na\n\n\nb\n\n", fields: 1)
        #expect(errors.isEmpty)
        #expect(lines.map(\.number) == [3, 6])
        #expect(parse("").lines.isEmpty && parse("").errors.isEmpty)
        #expect(parse("\n\n\n").lines.isEmpty && parse("\n\n\n").errors.isEmpty)
    }

    @Test func aLineOfSpacesIsAField() {
        #expect(parse("  \n", fields: 1).lines.first?.fields == [.value("  ")])
    }

    /// Finding 12 of "Trust and durability": a CR LF script made the key `x1\r`.
    @Test func crLFEndsALine() {
        let (lines, errors) = parse("x1\(Self.rs)b\r\nx2\(Self.rs)c\r\n", fields: 2)
        #expect(errors.isEmpty)
        #expect(lines.map(\.fields) == [[.value("x1"), .value("b")], [.value("x2"), .value("c")]])
        #expect(lines.map(\.number) == [1, 2])
        // A line that is only CR LF is blank.
        #expect(parse("\r\n", fields: 1).lines.isEmpty && parse("\r\n", fields: 1).errors.isEmpty)
    }

    @Test func carriageReturnInsideAValueIsRefused() {
        let (lines, errors) = parse("a\rb\(Self.rs)c\n", fields: 2)
        #expect(lines.isEmpty)
        #expect(errors.map(\.column) == [2])
        #expect(errors.first?.message.hasPrefix("control character U+000D (CR) is not allowed in a value") == true)
        // CR CR LF: the last CR is the line end's, the first one is in the value.
        #expect(parse("a\r\r\n", fields: 1).errors.map(\.column) == [2])
    }

    @Test func terminalEscapesAndOtherControlsAreRefused_tabAndByteOrderMarkAreData() {
        let (lines, errors) = parse("\u{FEFF}a\tb\n", fields: 1)
        #expect(errors.isEmpty)
        #expect(lines.first?.fields == [.value("\u{FEFF}a\tb")])
        for (text, column, name) in [
            ("x\u{1B}[31m", 2, "U+001B (ESC)"), ("\u{7F}", 1, "U+007F (DEL)"), ("ab\u{9B}1m", 3, "U+009B"), ("\u{8}", 1, "U+0008"),
        ] {
            let (refused, errors) = parse(text + "\n", fields: 1)
            #expect(refused.isEmpty, "\(text.debugDescription)")
            #expect(errors.map(\.column) == [column], "\(text.debugDescription)")
            #expect(errors.first?.message.contains(name) == true, "\(errors)")
        }
    }

    @Test func groupSeparatorIsAnEmptyField() {
        let (lines, errors) = parse("\(Self.gs)\(Self.rs)x\(Self.rs)\(Self.gs)\n", fields: 3)
        #expect(errors.isEmpty)
        #expect(lines.first?.fields == [.empty, .value("x"), .empty])
        #expect(OutputField.empty.entries == [])
    }

    @Test func arrayEntries() {
        let (lines, errors) = parse("k\(Self.rs)a\(Self.us)\(Self.gs)\(Self.us)b\\nc\n", fields: 2)
        #expect(errors.isEmpty)
        let value = lines.first?.fields.last
        #expect(value == .value("a\(Self.us)\(Self.gs)\(Self.us)b\nc"))
        #expect(value?.entries == [.value("a"), .empty, .value("b\nc")])
        #expect(parse("\(Self.gs)\(Self.us)\(Self.gs)\n").lines.first?.fields.first?.entries == [.empty, .empty])
        #expect(OutputField.value("single").entries == [.value("single")])
    }

    @Test func anyFieldCountWhenNotGiven() {
        let (lines, errors) = parse("a\nb\(Self.rs)c\n", fields: nil)
        #expect(errors.isEmpty)
        #expect(lines.map(\.fields.count) == [1, 2])
    }

    @Test func encodesLinesAndArrays() {
        #expect(ScriptOutput.encodeLine([.value("a\nb\\"), .empty, .value("")]) == Array("a\\nb\\\\\u{1E}\u{1D}\u{1E}\u{1D}\n".utf8))
        #expect(ScriptOutput.encodeLine([.value("\r")]) == [0x0D, 0x0A])
        #expect(ScriptOutput.encodeArray([]) == .empty)
        #expect(ScriptOutput.encodeArray([.empty]) == .empty)
        #expect(ScriptOutput.encodeArray([.value("")]) == .empty)
        #expect(ScriptOutput.encodeArray([.value("a"), .empty, .value("")]) == .value("a\u{1F}\u{1D}\u{1F}\u{1D}"))
        #expect(ScriptOutput.encodeArray([.value("only")]) == .value("only"))
    }

    @Test func checkReportsWhatCannotBeWritten() {
        #expect(ScriptOutput.check([.value("a"), .empty]) == nil)
        #expect(ScriptOutput.check([.value("a\u{1F}\u{1D}")]) == nil)
        #expect(ScriptOutput.check([]) == OutputError(line: 1, column: 1, message: "a line needs at least one field"))
        #expect(
            ScriptOutput.check([.empty, .value("a\\b\u{1E}")])
                == OutputError(
                    line: 1, column: 7, message: "RS (0x1E) cannot be written in a value: the format has no escape for it"))
        #expect(
            ScriptOutput.check([.value("x"), .value("a\u{0}")]) == OutputError(line: 1, column: 4, message: "NUL (0x00) is not allowed in a value"))
        #expect(
            ScriptOutput.check([.value("a\u{1F}\u{1F}")]) == OutputError(line: 1, column: 3, message: "an array entry may not be empty: write GS"))
        #expect(
            ScriptOutput.check([.value("a\u{1D}")])
                == OutputError(
                    line: 1, column: 2, message: "GS (an empty value) must be a whole field or a whole array entry"))
    }

    @Test func errorDescriptionNamesLineAndColumn() {
        #expect(OutputError(line: 3, column: 14, message: "m").description == "line 3, column 14: m")
    }

    @Test func largeOutputParsesQuickly() {
        let line = ScriptOutput.encodeLine([.value("CIM_FileSystem"), .value("/dev/sda1"), .value("node-0001"), .value("ext4 \\ \n")])
        let output = Array((0..<20_000).map { _ in line }.joined())
        let (lines, errors) = ScriptOutput.parse(output, fields: 4)
        #expect(errors.isEmpty)
        #expect(lines.count == 20_000)
    }
}
