import CIM

/// What a node sends after a discovery run (SPEC §4 "Discovery result"): for every inventory
/// settings object the monitor ran, the raw discovery and association outputs, byte-exact,
/// with the node's identity, the monitor, a sequence number and the run's times.
///
/// On the wire it is a JSON envelope (`Envelope.encode`, `Envelope.decodeDiscovery`; the
/// format is described in docs/wire-formats.md), the raw outputs in base64.
public struct DiscoveryResult: Sendable, Hashable, Codable {
    /// The node that ran the monitor (its host name).
    public var node: String
    /// The discovery monitor's name.
    public var monitor: String
    /// Increases with every result a node sends for a monitor; lets the server drop a result
    /// older than one it has applied. Never negative.
    public var sequence: Int64
    /// When the run started and finished: ISO 8601 UTC with milliseconds,
    /// `2026-01-31T12:00:00.000Z` (`Envelope.timestamp(_:)` writes one).
    public var startedAt: String
    public var finishedAt: String
    /// One entry per settings object the monitor runs, in the monitor's order.
    public var settings: [SettingsRun]

    public init(node: String, monitor: String, sequence: Int64, startedAt: String, finishedAt: String, settings: [SettingsRun]) {
        self.node = node
        self.monitor = monitor
        self.sequence = sequence
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.settings = settings
    }

    /// How one settings object's scripts went.
    public enum Status: String, Sendable, Hashable, Codable {
        /// The scripts ran and exited 0; their outputs are to be applied.
        case ok
        /// Not run: the parent settings object found nothing on this node in this run.
        case skipped
        /// The discovery or association script failed: exit code ≠ 0, killed at the timeout, or
        /// output over the cap. `failure` says which; the node's earlier instances are kept.
        case failed
    }

    /// One settings object's run.
    public struct SettingsRun: Sendable, Hashable, Codable {
        /// The settings object's InstanceID.
        public var id: String
        public var status: Status
        /// The discovery script's standard output, byte-exact (empty when not run).
        public var discovery: [UInt8]
        /// The association script's standard output, byte-exact; nil when the settings object
        /// has no association script (or it did not run). Empty is "ran, printed nothing".
        public var associations: [UInt8]?
        /// The exit code of the script that decided the status (the association script's
        /// if the discovery script succeeded); nil when not run or killed.
        public var exitCode: Int32?
        /// The failing script's standard error (possibly truncated by the node), byte-exact.
        public var stderr: [UInt8]?
        /// Why the run failed, for people: "exit code 2", "killed after the 30000 ms timeout".
        public var failure: String?

        public init(
            id: String, status: Status, discovery: [UInt8], associations: [UInt8]? = nil,
            exitCode: Int32? = nil, stderr: [UInt8]? = nil, failure: String? = nil
        ) {
            self.id = id
            self.status = status
            self.discovery = discovery
            self.associations = associations
            self.exitCode = exitCode
            self.stderr = stderr
            self.failure = failure
        }
    }
}
