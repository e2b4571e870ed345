import CIM
import Fleet
import Testing

/// `InstancePath` (module CIM): what the formatter writes, the parser reads back — on random
/// paths with awkward strings, every value kind, and references nested two levels deep.
@Suite struct InstancePathRoundTripTests {
    /// A name: a letter, `_` or a non-ASCII scalar first, then those and digits.
    static func name(_ rng: inout SplitMix64) -> String {
        let first = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_ÄéßΩ日".unicodeScalars)
        let next = first + Array("0123456789".unicodeScalars)
        var text = String.UnicodeScalarView([first[Int(rng.next() % UInt64(first.count))]])
        for _ in 0..<Int(rng.next() % 12) { text.append(next[Int(rng.next() % UInt64(next.count))]) }
        return String(text)
    }

    static func value(_ rng: inout SplitMix64, depth: Int) -> Value {
        switch rng.next() % (depth < 2 ? 8 : 7) {
        case 0, 1: return .string(WireRandom.string(&rng, maxLength: 16))
        case 2: return .unsigned(rng.next() >> (rng.next() % 64))
        case 3: return .signed(-1 - Int64(rng.next() >> (1 + rng.next() % 63)))
        case 4: return .boolean(rng.next() % 2 == 0)
        case 5:
            // Any UTF-16 code unit that is a whole character (surrogates have no text of their own).
            while true {
                let unit = UInt16(truncatingIfNeeded: rng.next() % 3 == 0 ? rng.next() % 128 : rng.next())
                if !(0xD800...0xDFFF).contains(unit) { return .char16(unit) }
            }
        case 6:
            while true {
                let d = Double(bitPattern: rng.next())
                if d.isFinite { return .real(d) }
            }
        default: return .reference(path(&rng, depth: depth + 1).description)
        }
    }

    static func path(_ rng: inout SplitMix64, depth: Int = 0) -> InstancePath {
        var keys: [InstancePath.Binding] = []
        for _ in 0..<Int(1 + rng.next() % 4) {
            let key = name(&rng)
            if keys.contains(where: { sameName($0.name, key) }) { continue }
            keys.append(InstancePath.Binding(name: key, value: value(&rng, depth: depth)))
        }
        return InstancePath(className: name(&rng), keys: keys)
    }

    /// What an untyped path can tell: quoted values are strings, a non-negative integer is unsigned.
    static func untyped(_ value: Value) -> Value {
        switch value {
        case .reference(let s), .datetime(let s): .string(s)
        case .signed(let i) where i >= 0: .unsigned(UInt64(i))
        default: value
        }
    }

    /// Compares a parsed path with the original, parsing nested references again.
    static func same(_ parsed: InstancePath, _ original: InstancePath) -> Bool {
        guard parsed.className == original.className, parsed.keys.count == original.keys.count else { return false }
        for (p, o) in zip(parsed.keys, original.keys) {
            guard p.name == o.name else { return false }
            if case .reference(let text) = o.value {
                guard case .string(let parsedText) = p.value, parsedText == text,
                    let nested = try? InstancePath.parse(parsedText), let originalNested = try? InstancePath.parse(text),
                    same(nested, originalNested)
                else { return false }
            } else if p.value != untyped(o.value) {
                return false
            }
        }
        return true
    }

    @Test(arguments: [21, 22, 23])
    func randomPathsRoundTrip(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<1_000 {
            let original = Self.path(&rng)
            let text = original.description
            do {
                let parsed = try InstancePath.parse(text)
                #expect(Self.same(parsed, original), "seed \(seed): \(text)")
                #expect(parsed.description == InstancePath(className: parsed.className, keys: parsed.keys).description)
            } catch {
                Issue.record("seed \(seed): \(text): \(error)")
            }
        }
    }

    @Test func nestedTwoLevels() throws {
        let inner = InstancePath(
            className: "CIM_ComputerSystem", keys: [("CreationClassName", .string("CIM_ComputerSystem")), ("Name", .string("n\"1\\"))])
        let middle = InstancePath(className: "CIM_DiskDrive", keys: [("System", .reference(inner.description)), ("DeviceID", .string("sda\n"))])
        let outer = InstancePath(className: "CIM_Assoc", keys: [("Part", .reference(middle.description)), ("Count", .unsigned(3))])
        let text = outer.description
        #expect(
            text
                == #"CIM_Assoc.Part="CIM_DiskDrive.System=\"CIM_ComputerSystem.CreationClassName=\\\"CIM_ComputerSystem\\\",Name=\\\"n\\\\\\\"1\\\\\\\\\\\"\",DeviceID=\"sda\\n\"",Count=3"#
        )
        let parsed = try InstancePath.parse(text)
        guard case .string(let middleText) = parsed.keys[0].value, case .string(let innerText) = try InstancePath.parse(middleText).keys[0].value
        else {
            Issue.record("not nested: \(parsed)")
            return
        }
        #expect(try InstancePath.parse(innerText) == inner)
        #expect(try InstancePath.parse(middleText).keys[1].value == .string("sda\n"))
    }

    /// Regression: `Double(_:)` alone read `5.` and hexadecimal floats as reals; the pywbem
    /// cross-check found it (DSP0004's realValue and our MOF lexer reject both).
    @Test func realsFollowTheRealValueGrammar() throws {
        for (text, value) in [("1.5", 1.5), ("-0.25", -0.25), (".5", 0.5), ("+2.5E-3", 0.0025), ("1e5", 100_000), ("1E+2", 100)] {
            #expect(try InstancePath.parse("C.k=\(text)").keys.first?.value == .real(value), "\(text)")
        }
        for text in ["5.", "1.", "0x1.8p1", "0X1P3", "1.5e", "e5", ".e5", "1..5", "1.5.2", "inf", "NaN", "1e999", "- 1.5", "1.5f"] {
            #expect(throws: InstancePathError.self, "\(text)") { try InstancePath.parse("C.k=\(text)") }
        }
    }

    /// Regression: the formatter escaped by Character, so a quote or backslash followed by a
    /// combining mark (one grapheme) was written raw and the path read back wrong.
    @Test func quoteBeforeACombiningMarkIsEscaped() throws {
        for text in ["\"\u{301}", "\\\u{301}", "a\"\u{308}b", "'\u{301}"] {
            let path = InstancePath(className: "C", keys: [("k", .string(text)), ("c", .char16(0x301))])
            #expect(try InstancePath.parse(path.description) == path, "\(path.description)")
        }
        let char = InstancePath(className: "C", keys: [("c", .char16(UInt16(ascii: "'")))])
        #expect(char.description == #"C.c='\''"#)
        #expect(try InstancePath.parse(char.description) == char)
    }
}

private extension UInt16 {
    init(ascii: Unicode.Scalar) { self = UInt16(ascii.value) }
}
