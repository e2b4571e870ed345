import Fleet
import Inventory
import Testing

/// Property tests: whatever a script writes with `encodeLine`/`encodeArray` reads back equal.
@Suite struct ScriptOutputRoundTripTests {
    @Test(arguments: [1, 2, 3, 4])
    func linesRoundTrip(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<1_500 {
            let fields = (0..<Int(1 + rng.next() % 6)).map { _ in WireRandom.field(&rng) }
            let encoded = ScriptOutput.encodeLine(fields)
            #expect(ScriptOutput.check(fields) == nil, "seed \(seed): \(fields)")
            let (lines, errors) = ScriptOutput.parse(encoded, fields: fields.count)
            guard errors.isEmpty, let line = lines.first else {
                Issue.record("seed \(seed): \(fields) → \(errors)")
                return
            }
            #expect(lines.count == 1 && line.fields == fields, "seed \(seed)")
            // Each field starts one column after the previous field's escaped text and its RS.
            var column = 1
            for (i, field) in fields.enumerated() {
                #expect(line.fieldColumns[i] == column)
                column += field.text.isEmpty ? 2 : field.text.unicodeScalars.reduce(1) { $0 + ($1 == "\\" || $1 == "\n" ? 2 : 1) }
            }
        }
    }

    @Test(arguments: [5, 6])
    func arraysRoundTrip(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<1_500 {
            let entries: [OutputField] = (0..<Int(2 + rng.next() % 5)).map { _ in
                let text = WireRandom.string(&rng, maxLength: 8, excluding: WireRandom.scriptReserved)
                return text.isEmpty ? .empty : .value(text)
            }
            let field = ScriptOutput.encodeArray(entries)
            let (lines, errors) = ScriptOutput.parse(ScriptOutput.encodeLine([.value("key"), field]), fields: 2)
            #expect(errors.isEmpty, "seed \(seed): \(entries)")
            #expect(lines.first?.fields.last?.entries == entries, "seed \(seed)")
        }
    }

    /// Whole outputs: many lines, blank lines between some, the last one maybe without LF.
    @Test(arguments: [7, 8])
    func documentsRoundTrip(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<40 {
            let width = Int(1 + rng.next() % 5)
            var output: [UInt8] = []
            var expected: [OutputLine] = []
            var number = 0
            for _ in 0..<Int(rng.next() % 60) {
                while rng.next() % 8 == 0 {
                    output.append(0x0A)
                    number += 1
                }
                let fields = (0..<width).map { _ in WireRandom.field(&rng) }
                output += ScriptOutput.encodeLine(fields)
                number += 1
                expected.append(OutputLine(number: number, fields: fields, fieldColumns: []))
            }
            if rng.next() % 2 == 0, output.last == 0x0A, output.count > 1, output[output.count - 2] != 0x0A { output.removeLast() }
            let (lines, errors) = ScriptOutput.parse(output, fields: width)
            #expect(errors.isEmpty, "seed \(seed)")
            #expect(lines.map(\.number) == expected.map(\.number), "seed \(seed)")
            #expect(lines.map(\.fields) == expected.map(\.fields), "seed \(seed)")
        }
    }

    /// Random bytes never crash the parser, and what parses re-encodes to the same fields.
    @Test func randomBytesParseOrFail() {
        var rng = SplitMix64(seed: 9)
        let alphabet: [UInt8] = [0x0A, 0x1D, 0x1E, 0x1F, 0x5C, 0x6E, 0x0D, 0x00, 0x61, 0xC3, 0xA9, 0xFF, 0xE6, 0x97, 0xA5]
        for _ in 0..<3_000 {
            let bytes = (0..<Int(rng.next() % 40)).map { _ in
                rng.next() % 4 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[Int(rng.next() % UInt64(alphabet.count))]
            }
            let fields: Int? = rng.next() % 3 == 0 ? nil : Int(rng.next() % 4)
            let (lines, errors) = ScriptOutput.parse(bytes, fields: fields)
            #expect(errors.count <= ScriptOutput.errorLimit)
            for line in lines {
                let (again, againErrors) = ScriptOutput.parse(ScriptOutput.encodeLine(line.fields), fields: line.fields.count)
                #expect(againErrors.isEmpty && again.first?.fields == line.fields, "\(bytes)")
            }
        }
    }
}
