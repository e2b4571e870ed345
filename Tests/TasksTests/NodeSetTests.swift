import Testing

@testable import Tasks

@Suite("node sets")
struct NodeSetTests {
    // MARK: Parsing

    @Test("a range list and a single name fold into one bracket set")
    func rangeAndSingle() throws {
        let set = try NodeSet(parsing: "n[01-03],n05")
        #expect(set.names == ["n01", "n02", "n03", "n05"])
        #expect(set.description == "n[01-03,05]")
        #expect(set.count == 4)
        #expect(set.contains("n02") && !set.contains("n2") && !set.contains("n04"))
    }

    @Test("different prefixes stay separate elements, sorted by prefix; a lone padded name keeps its brackets off")
    func separatePrefixes() throws {
        #expect(try NodeSet(parsing: "gpu[1-4],head01").description == "gpu[1-4],head01")
        #expect(try NodeSet(parsing: "head01,gpu[1-4]").description == "gpu[1-4],head01")
        #expect(NodeSet(["n05"]).description == "n05")
    }

    @Test("several range lists in one element give their cartesian product")
    func cartesianProduct() throws {
        #expect(try NodeSet(parsing: "rack[1-2]-n[1-2]").names == ["rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"])
        #expect(try NodeSet(parsing: "r[1-3]n[1-4]x").count == 12)
    }

    @Test("a range may have a step")
    func step() throws {
        #expect(try NodeSet(parsing: "a[1-10/2]").names == ["a1", "a3", "a5", "a7", "a9"])
        #expect(try NodeSet(parsing: "a[0-9/3]").names == ["a0", "a3", "a6", "a9"])
    }

    @Test("padding is the lower bound's width when it has a leading zero, as in ClusterShell")
    func padding() throws {
        #expect(try NodeSet(parsing: "n[8-12]").names == ["n8", "n9", "n10", "n11", "n12"])
        #expect(try NodeSet(parsing: "n[08-12]").names == ["n08", "n09", "n10", "n11", "n12"])
        let wide = try NodeSet(parsing: "n[01-100]")
        #expect(wide.count == 100)
        #expect(wide.contains("n01") && wide.contains("n99") && wide.contains("n100") && !wide.contains("n001"))
        #expect(wide.description == "n[01-100]")
        #expect(try NodeSet(parsing: "n[0-2]").names == ["n0", "n1", "n2"])
        #expect(try NodeSet(parsing: "n[00-02]").names == ["n00", "n01", "n02"])
    }

    @Test("blanks around commas are allowed, inside and outside brackets; the empty text is the empty set")
    func blanks() throws {
        #expect(try NodeSet(parsing: " a , b ").names == ["a", "b"])
        #expect(try NodeSet(parsing: "n[1 , 3]\t,\nm").names == ["m", "n1", "n3"])
        #expect(try NodeSet(parsing: "").isEmpty)
        #expect(try NodeSet(parsing: "  ").description == "")
    }

    @Test("repeated names are one name")
    func duplicates() throws {
        let set = try NodeSet(parsing: "n[1-3],n2,n[2-4]")
        #expect(set.names == ["n1", "n2", "n3", "n4"])
    }

    // MARK: Errors

    @Test("a reversed range is reported at its lower bound")
    func reversedRange() {
        #expect(failure("n[3-1]") == NodeSetError(column: 3, message: "reversed range 3-1 (write the lower bound first)"))
        #expect(failure("n[1,9-5]")?.column == 5)
    }

    @Test("an unclosed '[' is reported at the '['; a stray ']' at the ']'")
    func unbalanced() {
        #expect(failure("n[1-3")?.column == 2)
        #expect(failure("n[1-3,")?.column == 2)
        #expect(failure("ab[")?.column == 3)
        #expect(failure("n[1-3]]")?.column == 7)
        #expect(failure("n1]")?.column == 3)
        #expect(failure("n[[1]]")?.column == 3)
    }

    @Test("an empty element is reported at the comma, or at the end")
    func emptyElement() {
        #expect(failure("a,,b")?.column == 3)
        #expect(failure(",a")?.column == 1)
        #expect(failure("a,")?.column == 3)
        #expect(failure("a, ,b")?.column == 4)
    }

    @Test("a space inside a name is an error at the space")
    func spaceInName() {
        #expect(failure("a b")?.column == 2)
        #expect(failure("a  [1-2]")?.column == 2)
    }

    @Test("empty range lists and ranges, non-digits and bad steps are errors at the character at fault")
    func badRanges() {
        #expect(failure("n[]")?.column == 3)
        #expect(failure("n[ ]")?.column == 4)
        #expect(failure("n[1,]")?.column == 5)
        #expect(failure("n[a-3]")?.column == 3)
        #expect(failure("n[1-x]")?.column == 5)
        #expect(failure("n[1 2]")?.column == 5)
        #expect(failure("n[1-]")?.column == 5)
        #expect(failure("n[1/2]")?.column == 4)
        #expect(failure("n[1-4/0]")?.column == 7)
        #expect(failure("n[1234567890123456789]")?.column == 3)
    }

    @Test("characters outside letters, digits, '-', '_' and '.' are errors at their column, in characters")
    func badCharacters() {
        #expect(failure("n%1")?.column == 2)
        #expect(failure("a,b;c")?.column == 4)
        #expect(failure("né1,x!")?.column == 2)
        #expect(failure("é,x!")?.column == 1)
        // The combining accent is part of the second character, "b́".
        #expect(failure("ab\u{301}c")?.column == 2)
        #expect(failure("a ;")?.column == 3)
    }

    @Test("an expansion beyond 1,000,000 names is an error; exactly 1,000,000 is not")
    func expansionLimit() throws {
        #expect(failure("n[1-1000001]")?.message.contains("1,000,000") == true)
        #expect(failure("a[1-1000]b[1-1001]")?.column == 1)
        #expect(failure("a[1-600000],b[1-600000]")?.column == 15)
        #expect(try NodeSet(parsing: "n[1-999999],m").count == NodeSet.expansionLimit)
    }

    @Test("an error's description leads with its column")
    func errorDescription() {
        #expect(NodeSetError(column: 4, message: "oops").description == "column 4: oops")
        #expect(failure("a,,b")?.description.hasPrefix("column 3: ") == true)
    }

    // MARK: Folding and order

    @Test("a thousand padded names fold to one range")
    func thousand() {
        let set = NodeSet((1...1000).map { "node" + String(repeating: "0", count: 4 - String($0).count) + String($0) })
        #expect(set.count == 1000)
        #expect(set.description == "node[0001-1000]")
    }

    @Test("names sort by prefix, suffix, then number, so n2 comes before n10")
    func order() {
        #expect(NodeSet(["n10", "n2", "n1", "m", "n", "a-1"]).names == ["a-1", "m", "n", "n1", "n2", "n10"])
        #expect(NodeSet(["x1b", "x1a", "x2a"]).names == ["x1a", "x2a", "x1b"])
        #expect(NodeSet(["n01", "n1", "n001"]).names == ["n1", "n01", "n001"])
    }

    @Test("numbers of different paddings fold into separate ranges of one bracket set")
    func mixedPadding() {
        #expect(NodeSet(["n1", "n01"]).description == "n[1,01]")
        #expect(NodeSet(["n8", "n08", "n9", "n09"]).description == "n[8-9,08-09]")
        #expect(NodeSet(["n08", "n09", "n10", "n11"]).description == "n[08-11]")
    }

    @Test("names fold on their last run of digits only; a name without digits stands alone")
    func lastDigitRun() {
        #expect(NodeSet(["r1n1", "r1n2", "r2n1"]).description == "r1n[1-2],r2n1")
        #expect(NodeSet(["n1-ib", "n2-ib", "head"]).description == "head,n[1-2]-ib")
        #expect(NodeSet(["n1-eth0", "n2-eth0"]).description == "n1-eth0,n2-eth0")
        #expect(NodeSet(["n", "n1", "n2"]).description == "n,n[1-2]")
    }

    // MARK: Set operations

    @Test("union merges overlapping ranges")
    func union() throws {
        let union = try NodeSet(parsing: "n[1-3]").union(NodeSet(parsing: "n[2-5]"))
        #expect(union.description == "n[1-5]")
        #expect(union.count == 5)
    }

    @Test("subtracting splits a range")
    func subtracting() throws {
        #expect(try NodeSet(parsing: "n[1-10]").subtracting(NodeSet(parsing: "n[4-6],m1")).description == "n[1-3,7-10]")
        #expect(try NodeSet(parsing: "n[1-2]").subtracting(NodeSet(parsing: "n[1-2]")).isEmpty)
    }

    @Test("insert adds a name once")
    func insert() {
        var set = NodeSet()
        #expect(set.isEmpty)
        set.insert("b1")
        set.insert("b2")
        set.insert("b2")
        set.insert("a")
        #expect(set.count == 3)
        #expect(set.description == "a,b[1-2]")
    }

    // MARK: Round trips

    @Test("folding then parsing gives back the set, for random sets", arguments: [1, 2, 3, 42, 2024, 65_535])
    func roundTrip(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        for _ in 0..<50 {
            let set = randomSet(&random)
            let folded = set.description
            let parsed = try NodeSet(parsing: folded)
            #expect(parsed == set, "seed \(seed): \(folded)")
            #expect(parsed.description == folded)
            #expect(parsed.names == set.names)
        }
    }

    @Test("parsing then folding then parsing is stable, for random texts", arguments: [7, 99, 31_337])
    func randomTexts(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let prefixes = ["n", "gpu", "rack", "a.b-", "x_"]
        for _ in 0..<50 {
            var elements: [String] = []
            for _ in 0..<random.below(4) + 1 {
                var element = prefixes[random.below(prefixes.count)]
                for _ in 0..<random.below(2) + 1 {
                    let width = random.below(3) + 1
                    let low = random.below(50)
                    let high = low + random.below(30)
                    let pad = { (value: Int) in String(repeating: "0", count: max(0, width - String(value).count)) + String(value) }
                    element += "[\(pad(low))-\(pad(high))]"
                    if random.below(2) == 0 { element += "-" }
                }
                elements.append(element)
            }
            let text = elements.joined(separator: random.below(2) == 0 ? "," : " , ")
            let set = try NodeSet(parsing: text)
            #expect(try NodeSet(parsing: set.description) == set, "\(text) → \(set.description)")
        }
    }

    // MARK: Helpers

    private func failure(_ text: String) -> NodeSetError? {
        do {
            _ = try NodeSet(parsing: text)
            return nil
        } catch {
            return error
        }
    }

    /// A set mixing prefixes, suffixes, paddings, gaps and names without digits.
    private func randomSet(_ random: inout SplitMix64) -> NodeSet {
        let prefixes = ["n", "node", "gpu", "r1n", "x", ""]
        let suffixes = ["", "-ib", ".mgmt"]
        var set = NodeSet()
        for _ in 0..<random.below(200) {
            if random.below(20) == 0 {
                set.insert(["head", "login", "mgmt-a"][random.below(3)])
                continue
            }
            let value = random.below(random.below(2) == 0 ? 40 : 1200)
            let digits = String(value)
            let width = random.below(4) == 0 ? digits.count + random.below(3) : digits.count
            let number = String(repeating: "0", count: width - digits.count) + digits
            set.insert(prefixes[random.below(prefixes.count)] + number + suffixes[random.below(suffixes.count)])
        }
        return set
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, so a failing case can be rerun.
private struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound`.
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}
