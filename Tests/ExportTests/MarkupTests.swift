@testable import Export
import Fleet
import Testing

/// The export escapes values itself (see MarkupBuffer); libxml2's writer is the reference.
@Suite struct MarkupTests {
    /// Text from pieces that need escaping, characters XML 1.0 cannot carry, and neighbours of
    /// them that must pass untouched (U+EFFF and U+F000 start like U+FFFE; U+FFFD is allowed).
    static let pieces: [String] = [
        "a", "Z", "0", " ", "<", ">", "&", "\"", "'", "\t", "\n", "\r", "\u{1}", "\u{1F}", "\u{7F}", "é", "日本",
        "\u{FFFE}", "\u{FFFF}", "\u{FFFD}", "\u{EFFF}", "\u{F000}", "😀", "&amp;", "]]>",
    ]

    /// What xmlTextWriterWriteString makes of `text` inside an element, and what it dropped.
    static func libxml2(_ text: String) throws -> (String, Int) {
        var bytes: [UInt8] = []
        let writer = try XMLWriter(
            sink: XMLSink {
                bytes.append(contentsOf: $0); return true
            }, document: false)
        try writer.start("V")
        try writer.text(text)
        try writer.end()
        try writer.finish()
        let element = String(decoding: bytes, as: UTF8.self)
        return (String(element.dropFirst(3).dropLast(4)), writer.dropped)
    }

    @Test("values are escaped byte for byte as libxml2's writer escapes them")
    func escapingMatchesLibxml2() throws {
        var generator = SplitMix64(seed: 7)
        for round in 0..<3_000 {
            let length = Int(generator.next() % 12)
            let text = (0..<length).map { _ in Self.pieces[Int(generator.next() % UInt64(Self.pieces.count))] }.joined()
            var ours = MarkupBuffer()
            ours.appendText(text)
            let reference = try Self.libxml2(text)
            #expect(
                String(decoding: ours.bytes, as: UTF8.self) == reference.0,
                "round \(round): \(text.unicodeScalars.map { String($0.value, radix: 16) })")
            #expect(ours.dropped == reference.1, "round \(round)")
        }
    }
}
