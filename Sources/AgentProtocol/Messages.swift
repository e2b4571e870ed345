import Foundation
public import Inventory

/// `POST /v1/enroll`: an agent exchanges an enrollment token (made by `cimdb node enroll`) for
/// its per-node credential — it generates the key pair and the server records the public key.
/// Not signed (the agent has no key yet); the token is single-use and expires.
public struct EnrollRequest: Sendable, Hashable, Codable {
    public var node: String
    public var token: String
    /// Base64 of the raw 32-byte Ed25519 public key.
    public var publicKey: String

    public init(node: String, token: String, publicKey: String) {
        self.node = node
        self.token = token
        self.publicKey = publicKey
    }
}

public struct EnrollResponse: Sendable, Hashable, Codable {
    public var node: String
    public init(node: String) { self.node = node }
}

/// `GET /v1/assignments`: what a node runs — its discovery monitors (the settings as deployed)
/// and the update monitors deployed on it. Scripts are named by SHA-256; an agent fetches one
/// (`GET /v1/scripts/HASH`) only when its cache lacks it.
public struct Assignments: Sendable, Hashable, Codable {
    public struct Discovery: Sendable, Hashable, Codable {
        public var monitor: String
        public var periodMilliseconds: Int64
        public var timeoutMilliseconds: Int64
        public var settings: [MonitorSnapshot.Settings]

        public init(monitor: String, periodMilliseconds: Int64, timeoutMilliseconds: Int64, settings: [MonitorSnapshot.Settings]) {
            self.monitor = monitor
            self.periodMilliseconds = periodMilliseconds
            self.timeoutMilliseconds = timeoutMilliseconds
            self.settings = settings
        }
    }

    public struct Update: Sendable, Hashable, Codable {
        public var settings: String
        public var property: String
        public var script: String
        public var periodMilliseconds: Int64
        public var timeoutMilliseconds: Int64

        public init(settings: String, property: String, script: String, periodMilliseconds: Int64, timeoutMilliseconds: Int64) {
            self.settings = settings
            self.property = property
            self.script = script
            self.periodMilliseconds = periodMilliseconds
            self.timeoutMilliseconds = timeoutMilliseconds
        }

        public var key: String { "\(settings).\(property)" }
    }

    public var discovery: [Discovery]
    public var updates: [Update]

    public init(discovery: [Discovery], updates: [Update]) {
        self.discovery = discovery
        self.updates = updates
    }

    /// What in the assignments an agent must not use: names that would become paths (settings
    /// ids name the instance cache's files) and script names that are not SHA-256 hex. An agent
    /// refuses assignments with any of them, whoever signed them.
    public var problems: [String] {
        var problems: [String] = []
        func script(_ hash: String, _ place: String) {
            if !Digest.isHex(hash, length: 64) {
                problems.append("\(place): script '\(hash)' is not a SHA-256 in hex")
            }
        }
        for monitor in discovery {
            for settings in monitor.settings {
                let place = "monitor \(monitor.monitor), settings \(settings.id)"
                if let problem = FileName.problem(settings.id) { problems.append("monitor \(monitor.monitor): settings id \(problem)") }
                if let parent = settings.parent, let problem = FileName.problem(parent) { problems.append("\(place): parent \(problem)") }
                script(settings.discoveryScript, place)
                if let association = settings.associationScript { script(association, place) }
            }
        }
        for update in updates {
            if let problem = FileName.problem(update.settings) { problems.append("update \(update.key): settings id \(problem)") }
            script(update.script, "update \(update.key)")
        }
        return problems
    }

    /// A digest of the assignments: servers answer every result batch and heartbeat with it, so
    /// an agent fetches its assignments again only when they changed.
    public var version: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = (try? encoder.encode(self)).map { [UInt8]($0) } ?? []
        return String(Digest.sha256(bytes).prefix(16))
    }

    /// The assignments a configuration gives a node that runs all its monitors, with every
    /// settings object's update monitors deployed — what `cimdb agent --print` runs without a server.
    public init(local configuration: InventoryConfiguration) {
        discovery = configuration.monitors.map { monitor in
            Discovery(
                monitor: monitor.name, periodMilliseconds: monitor.periodMilliseconds,
                timeoutMilliseconds: monitor.timeoutMilliseconds, settings: MonitorSnapshot(monitor, in: configuration).settings)
        }
        updates = configuration.settings.flatMap { s in
            s.properties.map { p in
                Update(
                    settings: s.id, property: p.name, script: p.updateScript.hash,
                    periodMilliseconds: p.periodMilliseconds, timeoutMilliseconds: p.timeoutMilliseconds)
            }
        }
    }
}

/// `POST /v1/heartbeat`: the agent is alive; the answer carries the assignments' version.
public struct Heartbeat: Sendable, Hashable, Codable {
    /// Results waiting in the agent's journal.
    public var journaled: Int
    public var agentVersion: String

    public init(journaled: Int, agentVersion: String) {
        self.journaled = journaled
        self.agentVersion = agentVersion
    }
}

public struct HeartbeatResponse: Sendable, Hashable, Codable {
    public var assignmentsVersion: String
    public init(assignmentsVersion: String) { self.assignmentsVersion = assignmentsVersion }
}
