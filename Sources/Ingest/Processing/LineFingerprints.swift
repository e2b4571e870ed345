import CIM
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// Fingerprints of the lines of an update output, kept with the update monitor's last run
/// (`cimdb.update_run.line_hashes`) so that the next output is parsed and written only where
/// its lines are new: in steady state a property changes on a few instances, and their lines
/// are all that is worth reading.
///
/// A line identical to one of the last applied output held the same value for the same
/// instance, which is still stored: skipping it changes nothing. The fingerprints are dropped
/// (and the next output applied in full) whenever that could stop being true: when a discovery
/// run changes the node's instances of the settings object, and when what decides how lines
/// are read (class, key order, property) changes — it seeds the hash.
enum LineFingerprints {
    /// 64-bit FNV-1a. Written here because no library we use offers a hash that is stable
    /// across processes (servers are many, stateless processes; Swift's Hasher is seeded per
    /// process) and cheap per short line (SHA-256 costs several times more). A collision would
    /// only make one of a node's own changed lines look unchanged; with 64 bits it takes about
    /// 2^32 lines in one output to become likely.
    static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var h = seed
        for byte in bytes {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return h
    }

    /// The new lines of an output: a smaller output holding only them (in order, each ending
    /// with LF), the line number each had in the original output, and the fingerprints of all
    /// its lines (empty lines are neither fingerprinted nor new).
    struct Split {
        var novel: [UInt8] = []
        var lineNumbers: [Int] = []
        var fingerprints: [UInt64] = []
        var unchanged = 0
    }

    static func split(_ output: [UInt8], seed: UInt64, previous: Set<UInt64>) -> Split {
        var split = Split()
        var start = 0, number = 0
        while start < output.count {
            let end = output[start...].firstIndex(of: 0x0A) ?? output.count
            number += 1
            if end > start {
                let line = output[start..<end]
                let fingerprint = hash(line, seed: seed)
                split.fingerprints.append(fingerprint)
                if previous.contains(fingerprint) {
                    split.unchanged += 1
                } else {
                    split.novel.append(contentsOf: line)
                    split.novel.append(0x0A)
                    split.lineNumbers.append(number)
                }
            }
            start = end + 1
        }
        return split
    }

    /// As stored: 8 bytes a fingerprint, big-endian.
    static func encode(_ fingerprints: [UInt64]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fingerprints.count * 8)
        for f in fingerprints {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: f >> UInt64(shift))) }
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> Set<UInt64> {
        var set = Set<UInt64>(minimumCapacity: bytes.count / 8)
        var i = 0
        while i + 8 <= bytes.count {
            var f: UInt64 = 0
            for k in 0..<8 { f = f << 8 | UInt64(bytes[i + k]) }
            set.insert(f)
            i += 8
        }
        return set
    }
}
