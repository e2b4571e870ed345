import Inventory
import Testing

/// Malformed envelopes: every error with its exact line, column and message.
@Suite struct EnvelopeErrorTests {
    /// A valid discovery envelope, written by hand (one field a line) so positions are easy to see.
    static let base = """
        {
          "format": "cimdb-discovery-result/1",
          "node": "n1",
          "monitor": "hardware",
          "sequence": 42,
          "startedAt": "2026-01-31T12:00:00.000Z",
          "finishedAt": "2026-01-31T12:00:01.250Z",
          "settings": [
            {"id": "disk", "status": "ok", "discovery": "c2RhHkNJTV9EaXNrRHJpdmUK", "exitCode": 0}
          ]
        }
        """

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var error: String
        var testDescription: String { name }

        /// The base envelope with `replace` replaced by `with`.
        init(_ name: String, replace: String, with replacement: String, _ error: String) {
            precondition(EnvelopeErrorTests.base.contains(replace), name)
            self.init(name, Array(EnvelopeErrorTests.base.replacing(replace, with: replacement, maxReplacements: 1).utf8), error)
        }

        init(_ name: String, _ bytes: [UInt8], _ error: String) {
            self.name = name
            self.bytes = bytes
            self.error = error
        }
    }

    static let cases: [Case] = [
        Case("empty", [], "line 1, column 1: the envelope is empty: expected a JSON object"),
        Case("only whitespace", Array(" \n\t".utf8), "line 2, column 2: the envelope is empty: expected a JSON object"),
        Case(
            "truncated in a string", Array(base.prefix(76).utf8),
            "line 4, column 19: the envelope ends inside the string opened at line 4, column 14 (truncated?)"),
        Case(
            "truncated before a value", Array(base.prefix(70).utf8),
            "line 4, column 13: the envelope ends where a value should be (truncated?)"),
        Case(
            "truncated after a comma", Array(base.prefix(101).utf8),
            "line 6, column 1: the envelope ends inside the object opened at line 1, column 1 (truncated?)"),
        Case(
            "truncated in the settings", Array(base.prefix(base.utf8.count - 6).utf8),
            "line 9, column 91: the envelope ends inside the array opened at line 8, column 15 (truncated?)"),
        Case(
            "update format", replace: "cimdb-discovery-result/1", with: "cimdb-update-result/1",
            "line 2, column 13: format: the format is \"cimdb-update-result/1\", expected \"cimdb-discovery-result/1\" (this is an update result)"),
        Case(
            "unknown format", replace: "cimdb-discovery-result/1", with: "cimdb-discovery-result/2",
            "line 2, column 13: format: the format is \"cimdb-discovery-result/2\", expected \"cimdb-discovery-result/1\""),
        Case(
            "no format", replace: "\"format\": \"cimdb-discovery-result/1\",", with: "",
            "line 1, column 1: missing field \"format\": not a cimdb discovery result"),
        Case(
            "format not a string", replace: "\"cimdb-discovery-result/1\"", with: "1",
            "line 2, column 13: format: expected a string, found the number 1"),
        Case("missing node", replace: "\"node\": \"n1\",", with: "", "line 1, column 1: missing field \"node\""),
        Case("null node", replace: "\"n1\"", with: "null", "line 3, column 11: node: expected a string, found null"),
        Case("empty node", replace: "\"n1\"", with: "\"\"", "line 3, column 11: node: may not be empty"),
        Case("sequence as a string", replace: "42", with: "\"42\"", "line 5, column 15: sequence: expected an integer, found a string"),
        Case("fractional sequence", replace: "42", with: "4.2", "line 5, column 15: sequence: expected an integer, found 4.2"),
        Case("exponent sequence", replace: "42", with: "4e2", "line 5, column 15: sequence: expected an integer, found 4e2"),
        Case("negative sequence", replace: "42", with: "-1", "line 5, column 15: sequence: may not be negative"),
        Case(
            "sequence over 64 bits", replace: "42", with: "9223372036854775808",
            "line 5, column 15: sequence: 9223372036854775808 does not fit a 64-bit integer"),
        Case("leading zero", replace: "42", with: "042", "line 5, column 16: a JSON number may not have a leading zero"),
        Case(
            "exit code over 32 bits", replace: "\"exitCode\": 0", with: "\"exitCode\": 4294967296",
            "line 9, column 89: settings[0].exitCode: 4294967296 does not fit a 32-bit integer"),
        Case(
            "bad base64 character", replace: "c2RhHkNJ", with: "c2Rh!kNJ",
            "line 9, column 54: settings[0].discovery: invalid base64: ! is not a base64 character"),
        Case(
            "bad base64 after an escape", replace: "c2RhHkNJ", with: "\\u0063\\/Rh HkNJ",
            "line 9, column 60: settings[0].discovery: invalid base64: U+0020 (space) is not a base64 character"),
        Case(
            "base64 cut short", replace: "mUK\"", with: "mU\"",
            "line 9, column 73: settings[0].discovery: invalid base64: the length (23) is not a multiple of 4 (truncated?)"),
        Case(
            "base64 padding inside", replace: "c2RhHkNJ", with: "c2Rh=kNJ",
            "line 9, column 54: settings[0].discovery: invalid base64: '=' (padding) may only end the text"),
        Case(
            "base64 not canonical", replace: "c2RhHkNJTV9EaXNrRHJpdmUK", with: "QR==",
            "line 9, column 51: settings[0].discovery: invalid base64: the unused bits of the last character are not zero (not canonical base64)"),
        Case(
            "discovery not a string", replace: "\"c2RhHkNJTV9EaXNrRHJpdmUK\"", with: "[1, 2]",
            "line 9, column 49: settings[0].discovery: expected a base64 string, found an array"),
        Case(
            "unknown status", replace: "\"ok\"", with: "\"done\"",
            "line 9, column 30: settings[0].status: unknown status \"done\" (ok, skipped or failed)"),
        Case(
            "bad timestamp", replace: "2026-01-31T12:00:00.000Z", with: "2026-01-31 12:00:00",
            "line 6, column 16: startedAt: \"2026-01-31 12:00:00\" is not an ISO 8601 UTC time with milliseconds, like 2026-01-31T12:00:00.000Z"),
        Case(
            "timestamp month 13", replace: "2026-01-31T12:00:01.250Z", with: "2026-13-31T12:00:01.250Z",
            "line 7, column 17: finishedAt: \"2026-13-31T12:00:01.250Z\" is not an ISO 8601 UTC time with milliseconds, like 2026-01-31T12:00:00.000Z"
        ),
        Case(
            "settings not an array", replace: "\"settings\": [", with: "\"settings\": {\"a\": 1}, \"other\": [",
            "line 8, column 15: settings: expected an array, found an object"),
        Case(
            "settings element not an object", replace: "{\"id\"", with: "7, {\"id\"",
            "line 9, column 5: settings[0]: expected an object, found the number 7"),
        Case(
            "settings run without id", replace: "\"id\": \"disk\", ", with: "",
            "line 9, column 5: settings[0]: missing field \"id\""),
        Case(
            "duplicate field", replace: "\"node\": \"n1\",", with: "\"node\": \"n1\", \"node\": \"n2\",",
            "line 3, column 17: duplicate field \"node\""),
        Case("text after the envelope", Array((base + "\n}").utf8), "line 12, column 1: unexpected '}' after the end of the envelope's JSON value"),
        Case("root is an array", Array("[\(base)]".utf8), "line 1, column 1: expected a JSON object (a cimdb discovery result), found an array"),
        Case(
            "invalid UTF-8", Array("{\"node\": \"n".utf8) + [0xC3, 0x28] + Array("\"}".utf8),
            "line 1, column 12: invalid UTF-8 (0xC3 0x28)"),
        Case(
            "lone surrogate", replace: "\"n1\"", with: "\"n\\ud800x\"",
            "line 3, column 13: \\uD800 is a lone surrogate (a high surrogate needs a low one after it)"),
        Case(
            "raw tab in a string", replace: "\"n1\"", with: "\"n\t1\"",
            "line 3, column 13: a control character (U+0009 (TAB)) must be escaped in a JSON string"),
        Case("invalid escape", replace: "\"n1\"", with: "\"n\\x1\"", "line 3, column 13: invalid escape \\x in a JSON string"),
        Case("single quotes", replace: "\"n1\"", with: "'n1'", "line 3, column 11: expected a JSON value, found '''"),
        Case(
            "missing comma", replace: "\"n1\",", with: "\"n1\"",
            "line 4, column 3: expected ',' or '}' after the value of \"node\", found '\"'"),
        Case("bad literal", replace: "\"n1\"", with: "nul", "line 3, column 14: expected null, found ','"),
        Case(
            "too deep", replace: "\"node\"", with: "\"x\": \(String(repeating: "[", count: 70))\(String(repeating: "]", count: 70)), \"node\"",
            "line 3, column 71: an array nested more than 64 deep"),
    ]

    @Test(arguments: cases)
    func reportsPreciseErrors(_ c: Case) {
        #expect(throws: Never.self) { _ = try Envelope.decodeDiscovery(Array(Self.base.utf8)) }
        do {
            let result = try Envelope.decodeDiscovery(c.bytes)
            Issue.record("decoded \(result)")
        } catch {
            #expect(error.description == c.error)
        }
    }

    @Test func updateEnvelopeErrors() throws {
        let discovery = Array(Self.base.utf8)
        #expect(
            throws: EnvelopeError(
                line: 2, column: 13,
                message:
                    "format: the format is \"cimdb-discovery-result/1\", expected \"cimdb-update-result/1\" (this is a discovery result)")
        ) {
            try Envelope.decodeUpdate(discovery)
        }
        let update = UpdateResult(
            node: "n1", settings: "disk", property: "Capacity", sequence: 1,
            startedAt: "2026-01-31T12:00:00.000Z", finishedAt: "2026-01-31T12:00:00.000Z", status: .ok, output: [])
        var text = String(decoding: Envelope.encode(update), as: UTF8.self)
        text = text.replacing(",\"output\":\"\"", with: "")
        #expect(throws: EnvelopeError(line: 1, column: 1, message: "missing field \"output\"")) {
            try Envelope.decodeUpdate(Array(text.utf8))
        }
        text = text.replacing("\"status\":\"ok\"", with: "\"status\":\"skipped!\"")
        let column = text.utf8.firstIndex(of: UInt8(ascii: "!")).map { text.utf8.distance(from: text.utf8.startIndex, to: $0) - 7 } ?? 0
        #expect(throws: EnvelopeError(line: 1, column: column, message: "status: unknown status \"skipped!\" (ok, skipped or failed)")) {
            try Envelope.decodeUpdate(Array(text.utf8))
        }
    }

    @Test func manyMalformedEnvelopes() {
        #expect(Self.cases.count >= 10)
    }
}
