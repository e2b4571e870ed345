import CIM

/// Strict UTF-8 decoding and character naming shared by the wire-format parsers.
///
/// Both wire formats count columns in Unicode scalars (code points), 1-based — as the MOF
/// compiler and `InstancePathError` do.
enum WireText {
    /// The scalar that starts at `i` and its length in bytes, or nil if the bytes there are not
    /// well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF,
    /// no truncated sequence before `end`).
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int, end: Int) -> (scalar: Unicode.Scalar, length: Int)? {
        let b0 = bytes[i]
        if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
        func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> UInt32? {
            guard i + k < end else { return nil }
            let b = bytes[i + k]
            return b >= low && b <= high ? UInt32(b & 0x3F) : nil
        }
        switch b0 {
        case 0xC2...0xDF:
            guard let c1 = continuation(1) else { return nil }
            return (Unicode.Scalar(UInt32(b0 & 0x1F) << 6 | c1)!, 2)
        case 0xE0...0xEF:
            let low: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let high: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard let c1 = continuation(1, low, high), let c2 = continuation(2) else { return nil }
            return (Unicode.Scalar(UInt32(b0 & 0x0F) << 12 | c1 << 6 | c2)!, 3)
        case 0xF0...0xF4:
            let low: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let high: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard let c1 = continuation(1, low, high), let c2 = continuation(2), let c3 = continuation(3) else { return nil }
            return (Unicode.Scalar(UInt32(b0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3)!, 4)
        default:
            return nil
        }
    }

    /// The bytes of a malformed sequence at `i`, for a message: `0xC3 0x28` — a byte that cannot
    /// start a sequence alone, otherwise the lead byte and what follows up to the first byte that
    /// is not a continuation byte (or the sequence's length).
    static func describeMalformed(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int, end: Int) -> String {
        let b0 = bytes[i]
        let expected =
            switch b0 {
            case 0xC2...0xDF: 2
            case 0xE0...0xEF: 3
            case 0xF0...0xF4: 4
            default: 1
            }
        var shown = [b0]
        var k = i + 1
        while shown.count < expected, k < end {
            shown.append(bytes[k])
            if bytes[k] & 0xC0 != 0x80 { break }
            k += 1
        }
        return shown.map { "0x" + hex($0, digits: 2) }.joined(separator: " ")
    }

    /// A character as a message shows it: printable ones as themselves, the others by code
    /// point and name, e.g. `U+001E (RS)`.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        let names: [UInt32: String] = [
            0x00: "NUL", 0x09: "TAB", 0x0A: "LF", 0x0D: "CR", 0x1B: "ESC",
            0x1D: "GS", 0x1E: "RS", 0x1F: "US", 0x20: "space", 0x7F: "DEL",
        ]
        if let name = names[scalar.value] { return "U+" + hex(scalar.value, digits: 4) + " (" + name + ")" }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber,
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation,
            .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return String(scalar)
        default:
            return "U+" + hex(scalar.value, digits: 4)
        }
    }

    static func hex<T: BinaryInteger>(_ value: T, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
