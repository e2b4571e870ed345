/// A seeded random number generator (SplitMix64), so that a fleet is the same on every run and
/// every machine. The standard library's generator cannot be seeded, and none of the packages
/// we depend on offers one; SplitMix64 is a dozen lines and passes BigCrush.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one part of a fleet: the same `seed` and `stream` always give the same
    /// numbers, different streams unrelated ones.
    public init(seed: UInt64, stream: UInt64...) {
        var mixed = SplitMix64(seed: seed)
        for s in stream { mixed = SplitMix64(seed: mixed.next() ^ s &* 0x9E37_79B9_7F4A_7C15) }
        state = mixed.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
