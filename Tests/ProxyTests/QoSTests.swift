import Foundation
import Proxy
import Testing

@Suite struct QoSTests {
    @Test func durationsAsPeopleWriteThem() {
        #expect(DurationText.seconds("90") == 90)
        #expect(DurationText.seconds("90s") == 90)
        #expect(DurationText.seconds("15m") == 900)
        #expect(DurationText.seconds("2h") == 7200)
        #expect(DurationText.seconds("7d") == 604_800)
        for bad in ["", "s", "0", "0s", "-5m", "1.5h", "10x", "٣s", "99999999999999999999d", "9223372036854775807d"] {
            #expect(DurationText.seconds(bad) == nil, "\(bad)")
        }
    }

    @Test func payloadsAreTextWhenUTF8AndBase64Otherwise() throws {
        let text = IntegratorMessage.Payload(mime: "application/xml", bytes: Array("<a>é</a>".utf8))
        #expect(text.encoding == "utf-8" && text.content == "<a>é</a>" && text.length == 9)
        let binary = IntegratorMessage.Payload(mime: "application/octet-stream", bytes: [0xFF, 0x00, 0xFE])
        #expect(binary.encoding == "base64" && binary.content == "/wD+" && binary.length == 3)
    }

    @Test func wireNamesAreTheDocumentedOnes() throws {
        let header = ProxyWire.Header(source: "s", sourceType: "integrator", routing: "site/n1", timeToTransmit: nil)
        let message = ProxyWire.Message(
            id: "i", kind: "event", precedence: .urgent, persistence: .high, header: header, integrator: "g", instance: "n1", eventID: "e",
            queuedAt: "t", body: "{}")
        let json = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(message)) as? [String: Any])
        #expect(Set(json.keys) == ["id", "kind", "precedence", "persistence", "header", "integrator", "instance", "event_id", "queued_at", "body"])
        #expect(json["precedence"] as? String == "urgent")
        let encodedHeader = try #require(json["header"] as? [String: Any])
        #expect(Set(encodedHeader.keys) == ["source", "source_type", "routing"])
        let answer = try JSONDecoder().decode(
            ProxyWire.Answer.self,
            from: Data(#"{"done":["a"],"duplicates":0,"dropped":[],"acknowledged_proxy":true,"acknowledged_integrators":["g"]}"#.utf8))
        #expect(answer.acknowledgedProxy && answer.acknowledgedIntegrators == ["g"])
    }
}
