import SQLCore

/// What ``EmbeddedCluster/status()`` found: whether the cluster exists and runs, where, as whom.
public struct ClusterStatus: Sendable, CustomStringConvertible {
    /// Whether `initdb` has run (the data directory holds `PG_VERSION`).
    public var initialized: Bool
    /// Whether a postmaster is running for the data directory.
    public var running: Bool
    /// The postmaster's process ID, when running.
    public var pid: Int32?
    /// The data directory: `home/postgres/data`.
    public var dataDirectory: String
    /// The directory of the unix socket: `home/postgres`.
    public var socketDirectory: String
    /// The loopback TCP port, when the server listens on one; `nil` for unix socket only.
    public var port: Int?
    /// The major version of the data directory (`PG_VERSION`), e.g. `15`.
    public var version: String?
    /// The operating-system account PostgreSQL runs as (owns the data directory).
    public var account: String
    /// Something worth knowing, e.g. that cimdb runs as root and PostgreSQL as another account.
    public var note: String?

    /// Makes a status from its parts.
    public init(
        initialized: Bool, running: Bool, pid: Int32?, dataDirectory: String, socketDirectory: String,
        port: Int?, version: String?, account: String, note: String?
    ) {
        self.initialized = initialized
        self.running = running
        self.pid = pid
        self.dataDirectory = dataDirectory
        self.socketDirectory = socketDirectory
        self.port = port
        self.version = version
        self.account = account
        self.note = note
    }

    /// One `key: value` line per field, for `cimdb db status`.
    public var description: String {
        var lines = [
            "initialized: \(initialized ? "yes" : "no")",
            "running: \(running ? "yes" + (pid.map { " (pid \($0))" } ?? "") : "no")",
            "data directory: \(dataDirectory)",
            "socket directory: \(socketDirectory)",
            "tcp port: \(port.map(String.init) ?? "none (unix socket only)")",
            "version: \(version ?? "unknown")",
            "account: \(account)",
        ]
        if let note { lines.append("note: \(note)") }
        return lines.joined(separator: "\n")
    }
}
