import CIM

/// What a node sends after an update run: the raw output of one inventory property's update
/// script (one settings object, one property), byte-exact, with the node's identity, a
/// sequence number and the run's times.
///
/// On the wire it is a JSON envelope (`Envelope.encode`, `Envelope.decodeUpdate`; see
/// docs/wire-formats.md), the raw output in base64.
public struct UpdateResult: Sendable, Hashable, Codable {
    /// The node that ran the update monitor.
    public var node: String
    /// The inventory settings object's InstanceID.
    public var settings: String
    /// The inventory property's PropertyName.
    public var property: String
    /// Increases with every result a node sends for this (settings, property). Never negative.
    public var sequence: Int64
    /// ISO 8601 UTC with milliseconds, `2026-01-31T12:00:00.000Z`.
    public var startedAt: String
    public var finishedAt: String
    /// `.ok`, or `.failed` (exit code ≠ 0, timeout, output over the cap); `.skipped` is not
    /// expected from an update run but is carried if sent.
    public var status: DiscoveryResult.Status
    /// The update script's standard output, byte-exact.
    public var output: [UInt8]
    /// The script's exit code; nil when killed or not run.
    public var exitCode: Int32?
    /// The script's standard error (possibly truncated by the node), byte-exact.
    public var stderr: [UInt8]?
    /// Why the run failed, for people.
    public var failure: String?

    public init(
        node: String, settings: String, property: String, sequence: Int64, startedAt: String, finishedAt: String,
        status: DiscoveryResult.Status, output: [UInt8], exitCode: Int32? = nil, stderr: [UInt8]? = nil, failure: String? = nil
    ) {
        self.node = node
        self.settings = settings
        self.property = property
        self.sequence = sequence
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.status = status
        self.output = output
        self.exitCode = exitCode
        self.stderr = stderr
        self.failure = failure
    }
}
