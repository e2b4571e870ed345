import CIM
import Fleet
import Inventory

/// Random inputs for the wire-format property tests.
enum WireRandom {
    /// Characters that stress the formats: the escapes' own characters, line breaks, quotes,
    /// separators of other formats, combining marks, astral and special scalars.
    static let awkward: [Unicode.Scalar] = [
        "\\", "\n", "\r", "\t", "n", "\"", "'", ",", "=", ".", " ", "é", "ß", "日", "\u{301}", "\u{2028}",
        "\u{FEFF}", "\u{FFFD}", "\u{1F600}", "\u{10FFFF}", "\u{7F}", "\u{1}", "\u{1B}", "\u{85}", "\u{E000}",
    ]

    /// A scalar: mostly ASCII letters and digits, often an awkward one, sometimes any scalar.
    static func scalar(_ rng: inout SplitMix64, excluding excluded: Set<UInt32> = []) -> Unicode.Scalar {
        while true {
            let pick: Unicode.Scalar
            switch rng.next() % 10 {
            case 0...4: pick = Unicode.Scalar(UInt8(ascii: "a") + UInt8(rng.next() % 26))
            case 5: pick = Unicode.Scalar(UInt8(ascii: "0") + UInt8(rng.next() % 10))
            case 6...8: pick = awkward[Int(rng.next() % UInt64(awkward.count))]
            default:
                let value = UInt32(rng.next() % 0x110000)
                guard let s = Unicode.Scalar(value) else { continue }
                pick = s
            }
            if !excluded.contains(pick.value) { return pick }
        }
    }

    static func string(_ rng: inout SplitMix64, maxLength: Int, excluding excluded: Set<UInt32> = []) -> String {
        var text = String.UnicodeScalarView()
        for _ in 0..<Int(rng.next() % UInt64(maxLength + 1)) { text.append(scalar(&rng, excluding: excluded)) }
        return String(text)
    }

    /// What a value in script output cannot hold: NUL, the separators RS, GS and US, and the
    /// control characters the parser refuses (C0 but TAB and LF, which is written `\n`; DEL;
    /// C1).
    static let scriptReserved: Set<UInt32> = Set((0x00...0x1F).filter { $0 != 0x09 && $0 != 0x0A }).union(0x7F...0x9F)

    /// A field as a script may print it: empty, a value (none of `scriptReserved`), or an array.
    static func field(_ rng: inout SplitMix64) -> OutputField {
        let reserved = scriptReserved
        func value() -> OutputField {
            let text = string(&rng, maxLength: 12, excluding: reserved)
            return text.isEmpty ? .empty : .value(text)
        }
        switch rng.next() % 5 {
        case 0: return .empty
        case 1:
            let count = Int(rng.next() % 5)
            return ScriptOutput.encodeArray((0..<count).map { _ in value() })
        default: return value()
        }
    }

    static func bytes(_ rng: inout SplitMix64, maxLength: Int) -> [UInt8] {
        (0..<Int(rng.next() % UInt64(maxLength + 1))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }
}
