import AgentProtocol
import Crypto
import Foundation
import Testing

@Suite("signed requests and result framing")
struct ProtocolTests {
    let identity = NodeIdentity(node: "n1")
    let body = Array("discovery 3\nabc\n".utf8)

    func claim(_ headers: [(name: String, value: String)]) throws -> RequestSignature.Claim {
        try RequestSignature.Claim.read { name in headers.first { $0.name == name }?.value }.get()
    }

    var publicKey: Data { identity.privateKey.publicKey.rawRepresentation }

    @Test("a signed request verifies; any changed part does not; the body is checked against its signed hash")
    func signatureCoversEveryPart() throws {
        let now: Int64 = 1_800_000_000_000
        let headers = RequestSignature.sign(method: "POST", path: "/v1/results", body: body, identity: identity, timestamp: now)
        let signed = try claim(headers)
        #expect(signed.verify(method: "POST", path: "/v1/results", publicKey: publicKey, now: now) == nil)
        #expect(signed.matches(body: body))
        #expect(!signed.matches(body: body + [0x0A]))
        var otherBody = signed
        otherBody.bodyHash = String(repeating: "0", count: 64)
        #expect(otherBody.verify(method: "POST", path: "/v1/results", publicKey: publicKey, now: now) == .badSignature)
        #expect(signed.verify(method: "POST", path: "/v1/heartbeat", publicKey: publicKey, now: now) == .badSignature)
        #expect(signed.verify(method: "GET", path: "/v1/results", publicKey: publicKey, now: now) == .badSignature)
        var otherNode = signed
        otherNode.node = "n2"
        #expect(otherNode.verify(method: "POST", path: "/v1/results", publicKey: publicKey, now: now) == .badSignature)
        var otherTime = signed
        otherTime.timestamp += 1
        #expect(otherTime.verify(method: "POST", path: "/v1/results", publicKey: publicKey, now: now) == .badSignature)
        let stranger = NodeIdentity(node: "n1").privateKey.publicKey.rawRepresentation
        #expect(signed.verify(method: "POST", path: "/v1/results", publicKey: stranger, now: now) == .badSignature)
    }

    @Test("timestamps outside the allowed skew are refused, either way")
    func staleTimestamps() throws {
        let now: Int64 = 1_800_000_000_000
        let skew = RequestSignature.allowedSkewMilliseconds
        for offset in [-skew - 1, skew + 1] {
            let headers = RequestSignature.sign(method: "GET", path: "/v1/assignments", body: [], identity: identity, timestamp: now + offset)
            let result = try claim(headers).verify(method: "GET", path: "/v1/assignments", publicKey: publicKey, now: now)
            #expect(result == .stale(skewMilliseconds: -offset))
        }
        let edge = RequestSignature.sign(method: "GET", path: "/v1/assignments", body: [], identity: identity, timestamp: now - skew)
        #expect(try claim(edge).verify(method: "GET", path: "/v1/assignments", publicKey: publicKey, now: now) == nil)
    }

    @Test("any 64-bit timestamp is refused as stale without overflowing (finding 8: −2^63 crashed the server)")
    func extremeTimestamps() throws {
        for now: Int64 in [1_800_000_000_000, -1, .max, .min] {
            // Pairs further apart than the allowed skew (some differences overflow Int64).
            for stamp: Int64 in [.min, .min + 1, .max, .max - 1, -1_800_000_000_000]
            where Double(now) - Double(stamp) > 1e9 || Double(stamp) - Double(now) > 1e9 {
                let headers = RequestSignature.sign(method: "GET", path: "/v1/assignments", body: [], identity: identity, timestamp: stamp)
                let result = try claim(headers).verify(method: "GET", path: "/v1/assignments", publicKey: publicKey, now: now)
                guard case .stale = result else {
                    Issue.record("timestamp \(stamp) at \(now): \(String(describing: result))")
                    continue
                }
            }
        }
    }

    @Test("missing and malformed headers are named")
    func malformedHeaders() {
        let headers = RequestSignature.sign(method: "GET", path: "/", body: [], identity: identity)
        func read(without name: String? = nil, replacing: (String, String)? = nil) -> SignatureError? {
            let result = RequestSignature.Claim.read { key in
                if key == name { return nil }
                if let replacing, replacing.0 == key { return replacing.1 }
                return headers.first { $0.name == key }?.value
            }
            if case .failure(let error) = result { return error }
            return nil
        }
        #expect(read() == nil)
        #expect(read(without: RequestSignature.nodeHeader) == .missing(RequestSignature.nodeHeader))
        #expect(read(without: RequestSignature.signatureHeader) == .missing(RequestSignature.signatureHeader))
        #expect(read(without: RequestSignature.contentHashHeader) == .missing(RequestSignature.contentHashHeader))
        #expect(read(replacing: (RequestSignature.contentHashHeader, "abc")) == .malformed(RequestSignature.contentHashHeader))
        #expect(read(replacing: (RequestSignature.timestampHeader, "soon")) == .malformed(RequestSignature.timestampHeader))
        #expect(read(replacing: (RequestSignature.nonceHeader, "xyz")) == .malformed(RequestSignature.nonceHeader))
        #expect(read(replacing: (RequestSignature.signatureHeader, "AAAA")) == .malformed(RequestSignature.signatureHeader))
    }

    @Test("the identity file keeps the key")
    func identityFile() throws {
        let restored = try #require(NodeIdentity(fileContents: identity.fileContents))
        #expect(restored.node == "n1")
        #expect(restored.publicKeyBase64 == identity.publicKeyBase64)
        #expect(NodeIdentity(fileContents: "n1\nnot base64\n") == nil)
    }

    @Test("result batches frame envelopes byte-exact, control bytes and line feeds included")
    func batchFraming() throws {
        let items = [
            ResultBatch.Item(kind: .discovery, envelope: Array("{\"a\":1}\n\n".utf8)),
            ResultBatch.Item(kind: .update, envelope: [0x1E, 0x1D, 0x0A, 0x00, 0xFF]),
            ResultBatch.Item(kind: .update, envelope: []),
        ]
        let encoded = ResultBatch(items).encoded()
        #expect(try ResultBatch.decode(encoded).items == items)
        #expect(try ResultBatch.decode([]).items.isEmpty)
    }

    @Test(
        "broken framing is an error at its offset",
        arguments: [
            ("discovery 5\nabc\n", 0),  // length beyond the bytes
            ("inventory 3\nabc\n", 0),  // unknown kind
            ("update 3\nabc\nupdate x\n", 13),  // second frame's length
            ("update 3\nabcd", 0),  // no LF after the bytes
            ("update 3 \nabc\n", 0),  // a trailing space (finding 13)
            ("update  3\nabc\n", 0),  // two spaces
            ("update +3\nabc\n", 0),  // a sign
            ("update -0\n\n", 0),
            ("update 3x\nabc\n", 0),
            ("update \n\n", 0),  // no digits
        ])
    func brokenFraming(input: String, offset: Int) {
        #expect(throws: ResultBatchError.self) { try ResultBatch.decode(Array(input.utf8)) }
        do {
            _ = try ResultBatch.decode(Array(input.utf8))
        } catch {
            #expect(error.offset == offset)
        }
    }
}

@Suite("task outputs: head and tail within the cap")
struct OutputKeeperTests {
    @Test("under the cap: kept whole; over it: head, a mark naming what was left out, and tail, with the total size")
    func keeper() {
        var small = OutputKeeper(cap: 100)
        small.append(Array("hello".utf8))
        #expect(small.output == CappedOutput(kept: Array("hello".utf8), totalBytes: 5, truncated: false))

        var large = OutputKeeper(cap: 1000)
        var all: [UInt8] = []
        for chunk in 0..<50 {
            let bytes = (0..<997).map { UInt8(truncatingIfNeeded: $0 &+ chunk) }
            all += bytes
            large.append(bytes)
        }
        let output = large.output
        #expect(output.truncated && output.totalBytes == Int64(all.count))
        #expect(Array(output.kept.prefix(500)) == Array(all.prefix(500)))
        #expect(Array(output.kept.suffix(500)) == Array(all.suffix(500)))
        let mark = OutputKeeper.mark(omitted: Int64(all.count - 1000))
        #expect(output.kept.count == 1000 + mark.count)
        #expect(Array(output.kept[500..<(500 + mark.count)]) == mark)
    }
}
