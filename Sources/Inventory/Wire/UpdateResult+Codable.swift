import CIM

/// The envelope's JSON shape as Codable (see `DiscoveryResult`'s conformance):
/// `Envelope.decodeUpdate` is the strict reader with positions.
extension UpdateResult {
    enum CodingKeys: String, CodingKey {
        case format, node, settings, property, sequence, startedAt, finishedAt, status, output, exitCode, stderr, failure
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try EnvelopeCoding.checkFormat(c, .format, expected: Envelope.updateFormat)
        self.init(
            node: try EnvelopeCoding.identifier(c, .node),
            settings: try EnvelopeCoding.identifier(c, .settings),
            property: try EnvelopeCoding.identifier(c, .property),
            sequence: try EnvelopeCoding.sequence(c, .sequence),
            startedAt: try EnvelopeCoding.timestamp(c, .startedAt),
            finishedAt: try EnvelopeCoding.timestamp(c, .finishedAt),
            status: try EnvelopeCoding.status(c, .status),
            output: try EnvelopeCoding.bytes(c, .output),
            exitCode: try c.decodeIfPresent(Int32.self, forKey: .exitCode),
            stderr: try EnvelopeCoding.optionalBytes(c, .stderr),
            failure: try c.decodeIfPresent(String.self, forKey: .failure))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Envelope.updateFormat, forKey: .format)
        try c.encode(node, forKey: .node)
        try c.encode(settings, forKey: .settings)
        try c.encode(property, forKey: .property)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(finishedAt, forKey: .finishedAt)
        try c.encode(status, forKey: .status)
        try c.encode(WireBase64.encode(output), forKey: .output)
        try c.encodeIfPresent(exitCode, forKey: .exitCode)
        try c.encodeIfPresent(stderr.map(WireBase64.encode), forKey: .stderr)
        try c.encodeIfPresent(failure, forKey: .failure)
    }
}
