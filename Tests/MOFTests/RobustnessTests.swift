import CIM
import Foundation
@testable import MOF
import Testing

/// Random damage to real MOF must never crash or hang the compiler, and every diagnostic must
/// point inside the damaged file. A seeded generator keeps failures reproducible; the
/// coverage-guided fuzzer in Fuzz/ goes further in CI.
@Suite struct RobustnessTests {
    /// SplitMix64: small, fast and deterministic.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let corpus: [[UInt8]] = {
        let directory = repositoryRoot.appendingPathComponent("mof")
        var files: [[UInt8]] = []
        let enumerator = FileManager.default.enumerator(atPath: directory.path)
        while let path = enumerator?.nextObject() as? String {
            if path.hasSuffix(".mof"), let data = FileManager.default.contents(atPath: directory.appendingPathComponent(path).path) {
                files.append(Array(data))
            }
        }
        files.append(Array(prelude.utf8))
        files.append(
            Array(
                """
                instance of T_A as $x { Name = "a\\x41\\n"; Codes = {1, 0x2, 011, 101b, -1.5e3}; C = 'c'; };
                [Association] class T_L { T_A REF A = $x; T_A REF B; };
                #pragma include ("other.mof")
                #pragma namespace ("root/x")
                """.utf8))
        return files
    }()

    static let nasty: [UInt8] = Array("{}[]();:,=\\'\"/*#$\n\r\t 0x1b.eE-+".utf8) + [0x00, 0x1E, 0x1F, 0x80, 0xC3, 0xFF, 0xE2, 0x98]

    static func mutate(_ input: [UInt8], using rng: inout Generator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !bytes.isEmpty:  // delete a range
                let end = min(bytes.count, position + Int.random(in: 1...64, using: &rng))
                if position < end { bytes.removeSubrange(position..<end) }
            case 1:  // insert nasty bytes
                let count = Int.random(in: 1...8, using: &rng)
                bytes.insert(contentsOf: (0..<count).map { _ in nasty.randomElement(using: &rng)! }, at: position)
            case 2:  // insert random bytes
                let count = Int.random(in: 1...8, using: &rng)
                bytes.insert(contentsOf: (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: position)
            case 3 where !bytes.isEmpty:  // duplicate a range elsewhere
                let start = Int.random(in: 0..<bytes.count, using: &rng)
                let end = min(bytes.count, start + Int.random(in: 1...200, using: &rng))
                bytes.insert(contentsOf: bytes[start..<end], at: min(position, bytes.count))
            case 4:  // truncate
                bytes = Array(bytes.prefix(position))
            default:  // flip a byte
                if !bytes.isEmpty { bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
            }
        }
        return bytes
    }

    @Test(arguments: 0..<8)
    func damagedInputIsReportedNotFatal(seed: Int) throws {
        var rng = Generator(state: UInt64(seed) &* 7919 &+ 1)
        let corpus = Self.corpus
        for _ in 0..<250 {
            let input = Self.mutate(corpus.randomElement(using: &rng)!, using: &rng)
            let other = corpus.randomElement(using: &rng)!
            let compiler = Compiler(readFile: { path in
                path.hasSuffix("test.mof") ? input : (path.contains("CIM_") || path.hasSuffix("other.mof") ? other : nil)
            })
            let start = ContinuousClock.now
            let compilation = compiler.compile(files: ["test.mof"])
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(10), "a damaged input took \(elapsed): \(String(decoding: input.prefix(200), as: UTF8.self))")
            let lines = input.count { $0 == 0x0A } + 1
            for d in compilation.diagnostics {
                guard let location = d.location else { continue }
                #expect(location.line >= 1 && location.column >= 1, "\(d)")
                if location.file == "test.mof" { #expect(location.line <= lines, "\(d)") }
            }
        }
    }

    @Test func garbageStopsAtTheErrorLimit() {
        let garbage = String(repeating: "@ ", count: 50_000)
        let compilation = compile(garbage)
        #expect(compilation.errors.count <= 1000)
        #expect(compilation.errors.count >= 100)
    }

    @Test func deepNestingDoesNotOverflowTheStack() {
        let deep = "class T_A { string S = " + String(repeating: "{", count: 100_000) + "};"
        let compilation = compile(deep)
        #expect(compilation.hasErrors)
    }
}
