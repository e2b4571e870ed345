import CIM

/// Base64 (RFC 4648 §4: standard alphabet, `=` padding) for the raw outputs in an envelope.
/// Decoding is strict — no whitespace, padding required, unused bits zero — so that one byte
/// sequence has exactly one text, and a damaged payload is reported where it is damaged.
enum WireBase64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// A decoding problem: `index` is the position of the offending character in the text (in
    /// Unicode scalars, 0-based; the text's length when it is too short).
    struct Failure: Error, Hashable {
        var index: Int
        var message: String
    }

    static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        switch bytes.count - i {
        case 1:
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        case 2:
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        default:
            break
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> Result<[UInt8], Failure> {
        var text = text
        return text.withUTF8 { utf8 in
            let count = utf8.count
            var padding = 0
            for i in 0..<count {
                let c = utf8[i]
                if c == UInt8(ascii: "=") {
                    // Padding: only the last one or two characters of a whole group of four.
                    if i < count - 2 || count % 4 != 0 || (i == count - 2 && utf8[count - 1] != c) {
                        return .failure(Failure(index: i, message: "'=' (padding) may only end the text"))
                    }
                    padding += 1
                } else if values[Int(c)] == 0xFF {
                    // Every earlier character is ASCII, so the byte index is the scalar index.
                    let scalar = String(decoding: UnsafeBufferPointer(rebasing: utf8[i...]), as: UTF8.self).unicodeScalars.first!
                    return .failure(Failure(index: i, message: "\(WireText.describe(scalar)) is not a base64 character"))
                }
            }
            if count % 4 != 0 {
                return .failure(Failure(index: count, message: "the length (\(count)) is not a multiple of 4 (truncated?)"))
            }
            var out = [UInt8]()
            out.reserveCapacity(count / 4 * 3)
            var i = 0
            while i < count {
                let a = UInt32(values[Int(utf8[i])]), b = UInt32(values[Int(utf8[i + 1])])
                let c = utf8[i + 2] == UInt8(ascii: "=") ? 0 : UInt32(values[Int(utf8[i + 2])])
                let d = utf8[i + 3] == UInt8(ascii: "=") ? 0 : UInt32(values[Int(utf8[i + 3])])
                let n = a << 18 | b << 12 | c << 6 | d
                out.append(UInt8(n >> 16))
                if i + 4 < count || padding < 2 { out.append(UInt8(n >> 8 & 0xFF)) }
                if i + 4 < count || padding < 1 { out.append(UInt8(n & 0xFF)) }
                i += 4
            }
            // Canonical form: the bits the padding leaves unused are zero.
            if padding == 2, values[Int(utf8[count - 3])] & 0x0F != 0 {
                return .failure(Failure(index: count - 3, message: "the unused bits of the last character are not zero (not canonical base64)"))
            }
            if padding == 1, values[Int(utf8[count - 2])] & 0x03 != 0 {
                return .failure(Failure(index: count - 2, message: "the unused bits of the last character are not zero (not canonical base64)"))
            }
            return .success(out)
        }
    }
}
