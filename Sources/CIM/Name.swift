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

/// Whether two CIM names are the same name.
@inlinable
public func sameName(_ a: String, _ b: String) -> Bool {
    var ia = a.utf8.makeIterator(), ib = b.utf8.makeIterator()
    while true {
        switch (ia.next(), ib.next()) {
        case (nil, nil):
            return true
        case (let x?, let y?):
            if x == y { continue }
            if x >= 0x80 || y >= 0x80 { return foldedName(a) == foldedName(b) }
            if foldASCII(x) != foldASCII(y) { return false }
        default:
            // One name is longer; only non-ASCII case folding could still make them equal.
            return isASCII(a) && isASCII(b) ? false : foldedName(a) == foldedName(b)
        }
    }
}

/// Orders names case-insensitively, falling back to the exact spelling for a stable order.
@inlinable
public func namePrecedes(_ a: String, _ b: String) -> Bool {
    let fa = foldedName(a), fb = foldedName(b)
    return fa != fb ? fa < fb : a < b
}

/// A dictionary key that compares and hashes a name case-insensitively.
///
/// It keeps the folded name: hashing and equality both use it, so they agree for every name —
/// also for non-ASCII names whose folding or canonical equivalence makes them equal to others
/// (the Kelvin sign folds to "k"; "é" precomposed equals "e" + U+0301). Folding allocates only
/// for names with upper-case letters longer than 15 bytes.
public struct NameKey: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let folded: String

    @inlinable public init(_ name: String) {
        self.name = name
        self.folded = foldedName(name)
    }

    @inlinable public static func == (a: NameKey, b: NameKey) -> Bool { a.folded == b.folded }

    @inlinable public func hash(into hasher: inout Hasher) { hasher.combine(folded) }

    public var description: String { name }
}
