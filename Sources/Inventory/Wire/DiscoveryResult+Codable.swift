import CIM

/// The envelope's JSON shape as Codable, for embedding a result in other Codable documents.
/// `Envelope.decodeDiscovery` is the strict reader with line and column in its errors; this
/// conformance applies the same checks (format tag, base64, status, timestamps, non-empty
/// names) but reports them as `DecodingError`s with a coding path.
extension DiscoveryResult {
    enum CodingKeys: String, CodingKey {
        case format, node, monitor, sequence, startedAt, finishedAt, settings
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try EnvelopeCoding.checkFormat(c, .format, expected: Envelope.discoveryFormat)
        self.init(
            node: try EnvelopeCoding.identifier(c, .node),
            monitor: try EnvelopeCoding.identifier(c, .monitor),
            sequence: try EnvelopeCoding.sequence(c, .sequence),
            startedAt: try EnvelopeCoding.timestamp(c, .startedAt),
            finishedAt: try EnvelopeCoding.timestamp(c, .finishedAt),
            settings: try c.decode([SettingsRun].self, forKey: .settings))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Envelope.discoveryFormat, forKey: .format)
        try c.encode(node, forKey: .node)
        try c.encode(monitor, forKey: .monitor)
        try c.encode(sequence, forKey: .sequence)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(finishedAt, forKey: .finishedAt)
        try c.encode(settings, forKey: .settings)
    }
}

extension DiscoveryResult.SettingsRun {
    enum CodingKeys: String, CodingKey {
        case id, status, discovery, associations, exitCode, stderr, failure
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try EnvelopeCoding.identifier(c, .id),
            status: try EnvelopeCoding.status(c, .status),
            discovery: try EnvelopeCoding.bytes(c, .discovery),
            associations: try EnvelopeCoding.optionalBytes(c, .associations),
            exitCode: try c.decodeIfPresent(Int32.self, forKey: .exitCode),
            stderr: try EnvelopeCoding.optionalBytes(c, .stderr),
            failure: try c.decodeIfPresent(String.self, forKey: .failure))
    }

    /// Absent optionals are left out (not written as null).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(status, forKey: .status)
        try c.encode(WireBase64.encode(discovery), forKey: .discovery)
        try c.encodeIfPresent(associations.map(WireBase64.encode), forKey: .associations)
        try c.encodeIfPresent(exitCode, forKey: .exitCode)
        try c.encodeIfPresent(stderr.map(WireBase64.encode), forKey: .stderr)
        try c.encodeIfPresent(failure, forKey: .failure)
    }
}

extension DiscoveryResult.Status {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let status = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: Envelope.unknownStatus(text))
        }
        self = status
    }
}
