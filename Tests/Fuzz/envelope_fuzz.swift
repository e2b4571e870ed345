// libFuzzer entry for the result envelopes (Sources/Inventory/Wire/Envelope*.swift and the JSON
// reader EnvelopeJSON*.swift).
//
// Every input is decoded as a discovery and as an update envelope. An error must name a line of
// the input and a column at most one past that line's end; a decoded result must re-encode to
// an envelope that both the strict reader and JSONDecoder (the Codable conformance) decode to
// the same result. Then the input's bytes are carried as raw outputs of a result, which must
// survive encode → decode exactly. Built by Tests/Fuzz/build.sh; run by Tests/Fuzz/run.sh.

import Foundation
import Inventory

func checkPosition(_ error: EnvelopeError, in input: [UInt8]) {
    let lines = input.split(separator: 0x0A, omittingEmptySubsequences: false)
    precondition(error.line >= 1 && error.line <= lines.count, "error line out of range: \(error)")
    precondition(error.column >= 1 && error.column <= lines[error.line - 1].count + 1, "error column out of range: \(error)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let result = try Envelope.decodeDiscovery(input)
        let encoded = Envelope.encode(result)
        precondition((try? Envelope.decodeDiscovery(encoded)) == result, "discovery result does not round-trip")
        precondition((try? JSONDecoder().decode(DiscoveryResult.self, from: Data(encoded))) == result, "Codable disagrees")
    } catch {
        checkPosition(error, in: input)
    }
    do {
        let result = try Envelope.decodeUpdate(input)
        let encoded = Envelope.encode(result)
        precondition((try? Envelope.decodeUpdate(encoded)) == result, "update result does not round-trip")
        precondition((try? JSONDecoder().decode(UpdateResult.self, from: Data(encoded))) == result, "Codable disagrees")
    } catch {
        checkPosition(error, in: input)
    }

    // The input as raw outputs, and (lossily decoded) as names.
    let text = String(decoding: input.prefix(64), as: UTF8.self)
    let carried = DiscoveryResult(
        node: "n" + text, monitor: "m", sequence: Int64(size), startedAt: "2026-01-31T12:00:00.000Z",
        finishedAt: "2026-01-31T12:00:00.000Z",
        settings: [
            .init(
                id: "s", status: .failed, discovery: input, associations: input.reversed(),
                exitCode: Int32(truncatingIfNeeded: size), stderr: Array(input.prefix(3)), failure: text)
        ])
    precondition((try? Envelope.decodeDiscovery(Envelope.encode(carried))) == carried, "raw bytes did not survive")
    return 0
}
