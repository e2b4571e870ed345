/// CIM names (classes, properties, methods, qualifiers) compare case-insensitively
/// (DSP0004 §5.1). ASCII names — all of the DMTF schema — take fast paths that allocate
/// nothing; other names use Unicode lower-casing.

@usableFromInline
@inline(__always) func foldASCII(_ byte: UInt8) -> UInt8 {
    byte &- 0x41 < 26 ? byte | 0x20 : byte
}

@usableFromInline
func isASCII(_ s: String) -> Bool {
    s.utf8.allSatisfy { $0 < 0x80 }
}

/// The lower-case key of a name, as used by lookup tables and generated SQL identifiers.
@inlinable
public func foldedName(_ name: String) -> String {
    var isLower = true
    for byte in name.utf8 {
        if byte >= 0x80 { return name.lowercased() }
        if byte &- 0x41 < 26 { isLower = false }
    }
    if isLower { return name }
    let utf8 = name.utf8
    return String(unsafeUninitializedCapacity: utf8.count) { buffer in
        var i = 0
        for byte in utf8 {
            buffer[i] = foldASCII(byte)
            i += 1
        }
        return i
    }
}

/// Whether two CIM names are the same name: equal after lower-casing, byte for byte (no
/// Unicode normalization — as PostgreSQL compares identifiers, so names that are equal here
/// are equal as SQL names too).
@inlinable
public func sameName(_ a: String, _ b: String) -> Bool {
    var ia = a.utf8.makeIterator(), ib = b.utf8.makeIterator()
    while true {
        switch (ia.next(), ib.next()) {
        case (nil, nil):
            return true
        case (let x?, let y?):
            if x == y { continue }
            if x >= 0x80 || y >= 0x80 { return foldedName(a).utf8.elementsEqual(foldedName(b).utf8) }
            if foldASCII(x) != foldASCII(y) { return false }
        default:
            // One name is longer; only non-ASCII case folding could still make them equal.
            return isASCII(a) && isASCII(b) ? false : foldedName(a).utf8.elementsEqual(foldedName(b).utf8)
        }
    }
}

/// Orders names case-insensitively, falling back to the exact spelling for a stable order.
@inlinable
public func namePrecedes(_ a: String, _ b: String) -> Bool {
    if isASCII(a), isASCII(b) {
        // Without allocating: ingest sorts the keys of every line it reads.
        var ia = a.utf8.makeIterator(), ib = b.utf8.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case (nil, nil): return a < b
            case (nil, _): return true
            case (_, nil): return false
            case (let x?, let y?):
                let fx = foldASCII(x), fy = foldASCII(y)
                if fx != fy { return fx < fy }
            }
        }
    }
    let fa = foldedName(a), fb = foldedName(b)
    return fa != fb ? fa < fb : a < b
}

/// A dictionary key that compares and hashes a name case-insensitively (`sameName`).
///
/// Hashing feeds the lower-cased UTF-8 bytes in 8-byte words: ASCII names are folded on the
/// fly without allocating; other names are lower-cased first, so that names equal through
/// Unicode case folding (the Kelvin sign and "k") hash alike — the fuzzer found the case.
public struct NameKey: Hashable, Sendable, CustomStringConvertible {
    public let name: String

    @inlinable public init(_ name: String) { self.name = name }

    @inlinable public static func == (a: NameKey, b: NameKey) -> Bool { sameName(a.name, b.name) }

    @inlinable public func hash(into hasher: inout Hasher) {
        if isASCII(name) {
            Self.hashFolded(name.utf8, into: &hasher)
        } else {
            Self.hashFolded(foldedName(name).utf8, into: &hasher)
        }
    }

    @inlinable static func hashFolded(_ bytes: String.UTF8View, into hasher: inout Hasher) {
        var word: UInt64 = 0
        var shift: UInt64 = 0
        for byte in bytes {
            word |= UInt64(foldASCII(byte)) << shift
            shift += 8
            if shift == 64 {
                hasher.combine(word)
                word = 0
                shift = 0
            }
        }
        hasher.combine(word)
        hasher.combine(bytes.count)
    }

    public var description: String { name }
}
