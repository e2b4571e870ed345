import Fleet
import Foundation
import Inventory
import Testing

/// Envelopes: the documented example byte for byte, round trips over random bytes, and the
/// Codable conformance agreeing with the strict reader.
@Suite struct EnvelopeTests {
    static let example = DiscoveryResult(
        node: "n1", monitor: "hardware", sequence: 42,
        startedAt: "2026-01-31T12:00:00.000Z", finishedAt: "2026-01-31T12:00:01.250Z",
        settings: [
            .init(id: "disk", status: .ok, discovery: Array("sda\u{1E}CIM_DiskDrive\n".utf8), associations: [], exitCode: 0),
            .init(id: "partition", status: .skipped, discovery: []),
            .init(id: "nic", status: .failed, discovery: [], exitCode: 2, stderr: Array("ip: not found\n".utf8), failure: "exit code 2"),
        ])

    /// The example in docs/wire-formats.md.
    static let exampleText =
        #"{"finishedAt":"2026-01-31T12:00:01.250Z","format":"cimdb-discovery-result/1","monitor":"hardware","node":"n1","sequence":42,"settings":[{"associations":"","discovery":"c2RhHkNJTV9EaXNrRHJpdmUK","exitCode":0,"id":"disk","status":"ok"},{"discovery":"","id":"partition","status":"skipped"},{"discovery":"","exitCode":2,"failure":"exit code 2","id":"nic","status":"failed","stderr":"aXA6IG5vdCBmb3VuZAo="}],"startedAt":"2026-01-31T12:00:00.000Z"}"#

    @Test func encodesTheDocumentedExample() throws {
        #expect(String(decoding: Envelope.encode(Self.example), as: UTF8.self) == Self.exampleText)
        #expect(try Envelope.decodeDiscovery(Array(Self.exampleText.utf8)) == Self.example)
        let documentation = try String(contentsOf: wireRepositoryRoot.appendingPathComponent("docs/wire-formats.md"), encoding: .utf8)
        #expect(documentation.contains(Self.exampleText))
    }

    @Test func encodesAnUpdateResult() throws {
        let result = UpdateResult(
            node: "n1", settings: "disk", property: "Capacity", sequence: 7,
            startedAt: "2026-01-31T12:00:00.000Z", finishedAt: "2026-01-31T12:00:00.020Z",
            status: .ok, output: Array("sda\u{1E}500107862016\n".utf8), exitCode: 0)
        let text = String(decoding: Envelope.encode(result), as: UTF8.self)
        #expect(
            text
                == #"{"exitCode":0,"finishedAt":"2026-01-31T12:00:00.020Z","format":"cimdb-update-result/1","node":"n1","output":"c2RhHjUwMDEwNzg2MjAxNgo=","property":"Capacity","sequence":7,"settings":"disk","startedAt":"2026-01-31T12:00:00.000Z","status":"ok"}"#
        )
        #expect(try Envelope.decodeUpdate(Array(text.utf8)) == result)
    }

    @Test func acceptsWhitespaceEscapesNullsAndUnknownFields() throws {
        let text = """
            {"format" : "cimdb-update-result/1", "node": "n\\u00e9\\ud83d\\ude00\\/\\t", "settings": "s",
             "property": "P", "sequence": 0, "startedAt": "2026-01-31T12:00:00.000Z",
             "finishedAt": "2026-01-31T12:00:00.000Z", "status": "failed", "output": "",
             "exitCode": null, "stderr": null, "failure": "killed after the 1000 ms timeout",
             "future": {"nested": [1, 2.5e-3, true, false, null, "x"]}}\r\n
            """
        let result = try Envelope.decodeUpdate(Array(text.utf8))
        #expect(result.node == "né😀/\t")
        #expect(result.exitCode == nil && result.stderr == nil && result.status == .failed)
    }

    @Test(arguments: [11, 12, 13])
    func discoveryResultsRoundTrip(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let statuses: [DiscoveryResult.Status] = [.ok, .skipped, .failed]
        for _ in 0..<300 {
            func name() -> String { "n" + WireRandom.string(&rng, maxLength: 10) }
            func optionalBytes() -> [UInt8]? { rng.next() % 3 == 0 ? nil : WireRandom.bytes(&rng, maxLength: 300) }
            let runs = (0..<Int(rng.next() % 4)).map { _ in
                DiscoveryResult.SettingsRun(
                    id: name(), status: statuses[Int(rng.next() % 3)], discovery: WireRandom.bytes(&rng, maxLength: 600),
                    associations: optionalBytes(), exitCode: rng.next() % 2 == 0 ? nil : Int32(truncatingIfNeeded: rng.next()),
                    stderr: optionalBytes(), failure: rng.next() % 2 == 0 ? nil : WireRandom.string(&rng, maxLength: 20))
            }
            let result = DiscoveryResult(
                node: name(), monitor: name(), sequence: Int64(rng.next() >> 1),
                startedAt: Envelope.timestamp(Date(timeIntervalSince1970: Double(rng.next() % 4_000_000_000_000) / 1000)),
                finishedAt: Envelope.timestamp(Date(timeIntervalSince1970: Double(rng.next() % 4_000_000_000_000) / 1000)),
                settings: runs)
            let bytes = Envelope.encode(result)
            #expect(try Envelope.decodeDiscovery(bytes) == result, "seed \(seed)")
            #expect(try JSONDecoder().decode(DiscoveryResult.self, from: Data(bytes)) == result, "seed \(seed)")
            #expect(Envelope.encode(result) == bytes)
        }
    }

    @Test(arguments: [14, 15])
    func updateResultsRoundTrip(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<500 {
            let result = UpdateResult(
                node: "n" + WireRandom.string(&rng, maxLength: 8), settings: "s" + WireRandom.string(&rng, maxLength: 8),
                property: "P" + WireRandom.string(&rng, maxLength: 8), sequence: Int64(rng.next() >> 1),
                startedAt: "2026-01-31T12:00:00.000Z", finishedAt: "2026-01-31T12:00:00.000Z",
                status: rng.next() % 2 == 0 ? .ok : .failed, output: WireRandom.bytes(&rng, maxLength: 400),
                exitCode: rng.next() % 2 == 0 ? nil : Int32(truncatingIfNeeded: rng.next()),
                stderr: rng.next() % 2 == 0 ? nil : WireRandom.bytes(&rng, maxLength: 50),
                failure: rng.next() % 2 == 0 ? nil : WireRandom.string(&rng, maxLength: 20))
            let bytes = Envelope.encode(result)
            #expect(try Envelope.decodeUpdate(bytes) == result, "seed \(seed)")
            #expect(try JSONDecoder().decode(UpdateResult.self, from: Data(bytes)) == result, "seed \(seed)")
        }
    }

    @Test func everyByteValueSurvives() throws {
        let all = (0...255).map { UInt8($0) }
        for length in 0..<6 {
            let output = Array(all.prefix(length)) + all + all.reversed()
            let result = UpdateResult(
                node: "n", settings: "s", property: "p", sequence: 0, startedAt: "2026-01-31T12:00:00.000Z",
                finishedAt: "2026-01-31T12:00:00.000Z", status: .ok, output: output, stderr: all)
            #expect(try Envelope.decodeUpdate(Envelope.encode(result)) == result)
        }
    }

    @Test func overheadIsBase64PlusAFewHundredBytes() {
        let output = [UInt8](repeating: 0x41, count: 30_000)
        let result = DiscoveryResult(
            node: "node-0001", monitor: "hardware", sequence: 1, startedAt: "2026-01-31T12:00:00.000Z",
            finishedAt: "2026-01-31T12:00:00.000Z",
            settings: [.init(id: "disk", status: .ok, discovery: output, associations: output, exitCode: 0)])
        let size = Envelope.encode(result).count
        #expect(size >= 80_000 && size <= 80_000 + 300)
    }

    @Test func codableRejectsWhatTheStrictReaderRejects() {
        for text in [
            Self.exampleText.replacing("\"ok\"", with: "\"done\""),
            Self.exampleText.replacing("c2RhHkNJ", with: "c2Rh!kNJ"),
            Self.exampleText.replacing("cimdb-discovery-result/1", with: "cimdb-update-result/1"),
            Self.exampleText.replacing("2026-01-31T12:00:00.000Z", with: "yesterday"),
            Self.exampleText.replacing("\"node\":\"n1\"", with: "\"node\":\"\""),
            Self.exampleText.replacing("\"sequence\":42", with: "\"sequence\":-42"),
        ] {
            #expect(throws: (any Error).self) { try Envelope.decodeDiscovery(Array(text.utf8)) }
            #expect(throws: (any Error).self) { try JSONDecoder().decode(DiscoveryResult.self, from: Data(text.utf8)) }
        }
    }

    @Test func timestamps() {
        #expect(Envelope.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Envelope.timestamp(Date(timeIntervalSince1970: 1_769_860_800.25)) == "2026-01-31T12:00:00.250Z")
        #expect(Envelope.timestamp(Date(timeIntervalSince1970: 951_782_400.999)) == "2000-02-29T00:00:00.999Z")
        #expect(Envelope.timestamp(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(Envelope.timestamp(Date(timeIntervalSince1970: .infinity)) == "9999-12-31T23:59:59.999Z")
        #expect(Envelope.timestamp(Date(timeIntervalSince1970: -1e300)) == "0000-01-01T00:00:00.000Z")
        #expect(Envelope.isTimestamp("2026-01-31T12:00:00.000Z"))
        #expect(Envelope.isTimestamp("2026-06-30T23:59:60.000Z"))
        for bad in [
            "2026-01-31T12:00:00Z", "2026-01-31T12:00:00.000+00:00", "2026-00-31T12:00:00.000Z", "2026-01-32T12:00:00.000Z",
            "2026-01-31T24:00:00.000Z", "2026-01-31t12:00:00.000Z", "２026-01-31T12:00:00.000Z", "",
        ] {
            #expect(!Envelope.isTimestamp(bad), "\(bad)")
        }
        // Random instants agree with Foundation's formatter.
        var rng = SplitMix64(seed: 16)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for _ in 0..<500 {
            let date = Date(timeIntervalSince1970: Double(rng.next() % 8_000_000_000_000) / 1000 - 2_000_000_000)
            let ours = Envelope.timestamp(date)
            #expect(Envelope.isTimestamp(ours))
            #expect(formatter.date(from: ours).map { abs($0.timeIntervalSince(date)) < 0.001 } == true, "\(ours)")
        }
    }

    @Test func errorDescription() {
        #expect(EnvelopeError(line: 2, column: 5, message: "m").description == "line 2, column 5: m")
    }
}

/// The repository's root directory (this file is Tests/InventoryTests/Wire/EnvelopeTests.swift).
let wireRepositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
