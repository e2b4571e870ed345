import CIM
import Foundation

/// The JSON envelopes in which nodes send discovery and update results (SPEC §4 "Discovery
/// result"; the format is ours — docs/wire-formats.md describes it with an example).
///
/// One JSON object per result, UTF-8, keys sorted, no whitespace: a `format` tag, the identity
/// fields, and every raw script output in base64 so that RS/GS/US, invalid UTF-8 and any
/// other bytes arrive untouched (RS, GS and US are not even legal in XML 1.0). Base64 makes the
/// outputs 4/3 as large; the rest is about 150 bytes per result and 60 per settings run.
///
/// Decoding is strict and every error names a line and column in the envelope: truncated
/// JSON, a wrong `format`, a missing field or one of the wrong type, an integer out of range,
/// bad base64, an unknown status, a malformed timestamp. Unknown fields are ignored, so that a
/// newer node may add optional fields without a new format version.
public enum Envelope {
    /// The `format` tag of a discovery result.
    public static let discoveryFormat = "cimdb-discovery-result/1"
    /// The `format` tag of an update result.
    public static let updateFormat = "cimdb-update-result/1"

    /// The envelope of a discovery result: deterministic (sorted keys, no whitespace), so equal
    /// results give equal bytes.
    public static func encode(_ result: DiscoveryResult) -> [UInt8] {
        encodeJSON(result)
    }

    /// The envelope of an update result (deterministic, like a discovery result's).
    public static func encode(_ result: UpdateResult) -> [UInt8] {
        encodeJSON(result)
    }

    static func encodeJSON(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            // Strings, integers and base64 text only: encoding cannot fail.
            preconditionFailure("Envelope: JSON encoding failed: \(error)")
        }
    }

    /// Reads a discovery result's envelope.
    public static func decodeDiscovery(_ bytes: [UInt8]) throws(EnvelopeError) -> DiscoveryResult {
        let root = try EnvelopeObject.root(bytes, format: discoveryFormat, what: "discovery result")
        var settings: [DiscoveryResult.SettingsRun] = []
        for (i, node) in try root.array("settings").enumerated() {
            let run = try root.object(node, path: "settings[\(i)]")
            settings.append(
                DiscoveryResult.SettingsRun(
                    id: try run.identifier("id"),
                    status: try run.status("status"),
                    discovery: try run.bytes("discovery"),
                    associations: try run.optionalBytes("associations"),
                    exitCode: try run.optionalInteger("exitCode", Int32.self),
                    stderr: try run.optionalBytes("stderr"),
                    failure: try run.optionalString("failure")))
        }
        return DiscoveryResult(
            node: try root.identifier("node"),
            monitor: try root.identifier("monitor"),
            sequence: try root.sequence("sequence"),
            startedAt: try root.timestamp("startedAt"),
            finishedAt: try root.timestamp("finishedAt"),
            settings: settings)
    }

    /// Reads an update result's envelope.
    public static func decodeUpdate(_ bytes: [UInt8]) throws(EnvelopeError) -> UpdateResult {
        let root = try EnvelopeObject.root(bytes, format: updateFormat, what: "update result")
        return UpdateResult(
            node: try root.identifier("node"),
            settings: try root.identifier("settings"),
            property: try root.identifier("property"),
            sequence: try root.sequence("sequence"),
            startedAt: try root.timestamp("startedAt"),
            finishedAt: try root.timestamp("finishedAt"),
            status: try root.status("status"),
            output: try root.bytes("output"),
            exitCode: try root.optionalInteger("exitCode", Int32.self),
            stderr: try root.optionalBytes("stderr"),
            failure: try root.optionalString("failure"))
    }

    // Messages shared by the strict decoder and the Codable conformances.

    static func wrongFormat(_ found: String, expected: String) -> String {
        let known = [discoveryFormat: "a discovery result", updateFormat: "an update result"]
        let hint = known[found].map { " (this is \($0))" } ?? ""
        return "the format is \(quoted(found)), expected \(quoted(expected))\(hint)"
    }

    static func unknownStatus(_ found: String) -> String {
        "unknown status \(quoted(found)) (ok, skipped or failed)"
    }

    static func badTimestamp(_ found: String) -> String {
        "\(quoted(found)) is not an ISO 8601 UTC time with milliseconds, like 2026-01-31T12:00:00.000Z"
    }

    static let emptyIdentifier = "may not be empty"
    static let negativeSequence = "may not be negative"

    /// A string as messages quote it (JSON-escaped, at most 60 characters).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for (i, scalar) in text.unicodeScalars.enumerated() {
            if i == 60 { return out + "…\"" }
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out += scalar.value < 0x20 || scalar.value == 0x7F ? "\\u" + WireText.hex(scalar.value, digits: 4) : String(scalar)
            }
        }
        return out + "\""
    }
}
