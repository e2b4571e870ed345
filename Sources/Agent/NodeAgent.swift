import AgentProtocol
public import Foundation
import Inventory
public import Logging

/// How `cimdb agent` runs.
public struct AgentConfiguration: Sendable {
    /// The servers, both active (SPEC §7); at least one.
    public var servers: [URL]
    public var stateDirectory: String
    public var node: String
    /// The enrollment token, needed once (when the state directory holds no credential).
    public var token: String?
    /// The first run of each monitor waits a random time up to this (at most its period), so
    /// that a fleet started together does not report in the same second.
    public var spread: Duration
    /// How often the agent tells the servers it is alive.
    public var heartbeat: Duration
    public var maximumOutputBytes: Int
    public var version: String

    public init(servers: [URL], stateDirectory: String, node: String, token: String? = nil, spread: Duration = .seconds(30),
                heartbeat: Duration = .seconds(30), maximumOutputBytes: Int = 16 << 20, version: String = "cimdb-agent") {
        self.servers = servers
        self.stateDirectory = stateDirectory
        self.node = node
        self.token = token
        self.spread = spread
        self.heartbeat = heartbeat
        self.maximumOutputBytes = maximumOutputBytes
        self.version = version
    }
}

/// `cimdb agent`: runs the discovery monitors of this node on their periods and the update
/// monitors deployed on it on theirs; journals every result before sending it and delivers
/// the journal in order; keeps its assignments current.
public actor NodeAgent {
    let configuration: AgentConfiguration
    let state: AgentState
    let transport: Transport
    let logger: Logger
    private var identity: NodeIdentity?
    private var assignments = Assignments(discovery: [], updates: [])
    private var assignmentsVersion = ""
    /// When each monitor runs next, by `discovery:NAME` / `update:SETTINGS.PROPERTY`.
    private var due: [String: ContinuousClock.Instant] = [:]
    private var deliveryWake: AsyncStream<Void>.Continuation?
    private var generator = SystemRandomNumberGenerator()

    public init(configuration: AgentConfiguration, logger: Logger) throws(AgentError) {
        guard !configuration.servers.isEmpty else { throw AgentError("no server given (--server URL, up to two)") }
        self.configuration = configuration
        self.state = try AgentState(directory: configuration.stateDirectory)
        self.transport = Transport(servers: configuration.servers)
        self.logger = logger
        try state.writeAtomically(Helpers.script, to: state.helpersPath)
        try state.restoreCacheFiles()
    }

    private var runs: MonitorRuns {
        MonitorRuns(node: configuration.node, state: state, runner: ScriptRunner(maximumOutputBytes: configuration.maximumOutputBytes))
    }

    private var scripts: ScriptCache {
        let transport = transport
        let identity = identity
        let logger = logger
        return ScriptCache(directory: state.scriptsDirectory) { hash in
            guard let identity else { return nil }
            do {
                let response = try await transport.send("GET", "/v1/scripts/\(hash)", identity: identity)
                if response.isSuccess { return [UInt8](response.body) }
                logger.warning("script \(hash): \(response.message)")
            } catch {
                logger.warning("script \(hash): \(error)")
            }
            return nil
        }
    }

    // MARK: Enrollment

    /// The node's credential: from the state directory, or by exchanging the enrollment token,
    /// retried with backoff until a server accepts or refuses it.
    func enroll() async throws -> NodeIdentity {
        if let identity { return identity }
        if let stored = state.loadIdentity() {
            guard stored.node == configuration.node else {
                throw AgentError("the state directory \(state.directory) belongs to node \(stored.node), not \(configuration.node)")
            }
            identity = stored
            return stored
        }
        guard let token = configuration.token else {
            throw AgentError("node \(configuration.node) is not enrolled: give --token (made by `cimdb node enroll \(configuration.node)`)")
        }
        let candidate = NodeIdentity(node: configuration.node)
        let body = try JSONEncoder().encode(EnrollRequest(node: candidate.node, token: token, publicKey: candidate.publicKeyBase64))
        var backoff = retryBackoff
        while true {
            do {
                let response = try await transport.send("POST", "/v1/enroll", body: [UInt8](body), contentType: "application/json", identity: nil)
                if response.isSuccess {
                    try state.saveIdentity(candidate)
                    identity = candidate
                    logger.info("enrolled as node \(candidate.node) with \(response.server.absoluteString)")
                    return candidate
                }
                if response.status < 500 { throw AgentError("enrollment refused by \(response.server.absoluteString): \(response.message)") }
                logger.warning("enrollment: \(response.message); trying again in \(backoff.current)")
            } catch let error as AgentError where error.description.hasPrefix("no server answered") {
                logger.warning("enrollment: \(error); trying again in \(backoff.current)")
            }
            try await backoff.wait()
        }
    }

    // MARK: Assignments

    /// Fetches the node's assignments; on failure keeps the last known ones.
    @discardableResult
    func refreshAssignments() async -> Bool {
        guard let identity else { return false }
        do {
            let response = try await transport.send("GET", "/v1/assignments", identity: identity)
            guard response.isSuccess else {
                logger.warning("assignments: \(response.message)")
                return false
            }
            let fresh = try JSONDecoder().decode(Assignments.self, from: response.body)
            adopt(fresh)
            try? state.saveAssignments(fresh)
            return true
        } catch {
            logger.warning("assignments: \(error)")
            return false
        }
    }

    private func adopt(_ fresh: Assignments) {
        let now = ContinuousClock.now
        var next: [String: ContinuousClock.Instant] = [:]
        for monitor in fresh.discovery {
            next["discovery:" + monitor.monitor] = due["discovery:" + monitor.monitor] ?? now + firstDelay(period: monitor.periodMilliseconds)
        }
        for monitor in fresh.updates {
            next["update:" + monitor.key] = due["update:" + monitor.key] ?? now + firstDelay(period: monitor.periodMilliseconds)
        }
        let added = fresh.updates.count - assignments.updates.count
        if fresh != assignments {
            logger.info("assignments: \(fresh.discovery.count) discovery monitor(s), \(fresh.updates.count) update monitor(s)\(added > 0 ? " (+\(added))" : "")")
        }
        assignments = fresh
        assignmentsVersion = fresh.version
        due = next
    }

    private func firstDelay(period: Int64) -> Duration {
        Jitter.firstDelay(period: period, spread: configuration.spread, using: &generator)
    }

    private func nextDelay(period: Int64) -> Duration {
        Jitter.nextDelay(period: period, using: &generator)
    }

    // MARK: Running monitors

    /// Runs one discovery monitor now and journals its result.
    func runDiscovery(_ monitor: Assignments.Discovery) async throws {
        let result = await runs.discovery(monitor, scripts: scripts)
        try state.journal(kind: .discovery, sequenceName: "discovery:" + monitor.monitor) { sequence in
            var numbered = result
            numbered.sequence = sequence
            return Envelope.encode(numbered)
        }
        let failed = result.settings.filter { $0.status == .failed }
        let failures = failed.isEmpty ? "" : "; failed: " + failed.map { "\($0.id) (\($0.failure ?? ""))" }.joined(separator: ", ")
        logger.info("discovery \(monitor.monitor): \(result.settings.count - failed.count) of \(result.settings.count) settings ran\(failures)")
        deliveryWake?.yield()
    }

    /// Runs one update monitor now and journals its result.
    func runUpdate(_ monitor: Assignments.Update) async throws {
        let result = await runs.update(monitor, scripts: scripts)
        try state.journal(kind: .update, sequenceName: "update:" + monitor.key) { sequence in
            var numbered = result
            numbered.sequence = sequence
            return Envelope.encode(numbered)
        }
        if result.status == .failed { logger.warning("update \(monitor.key): \(result.failure ?? "failed")") }
        deliveryWake?.yield()
    }

    // MARK: Delivery

    /// Sends the journal, oldest first, until it is empty; false when no server took it.
    func deliver() async -> Bool {
        guard let identity else { return false }
        var batchBytes = 4 << 20
        while true {
            guard let entries = try? state.pending(maximumBytes: batchBytes), let last = entries.last else { return true }
            let body = ResultBatch(entries.map { ResultBatch.Item(kind: $0.kind, envelope: $0.envelope) }).encoded()
            do {
                let response = try await transport.send("POST", "/v1/results", body: body, contentType: ResultBatch.contentType, identity: identity)
                if response.status == 413 {
                    // Over the server's body limit: send them one at a time; one result alone
                    // over it can never be delivered and is set aside in the state file.
                    if entries.count > 1 {
                        batchBytes = 0
                        continue
                    }
                    try state.setAside(entries[0], reason: "\(body.count) bytes, over \(response.server.absoluteString)'s limit")
                    logger.error("a \(entries[0].kind.rawValue) result of \(body.count) bytes is over the server's limit: set aside in \(state.directory)/state.db (table undeliverable)")
                    continue
                }
                guard response.isSuccess, let settled = try? JSONDecoder().decode(ResultBatchResponse.self, from: response.body),
                      settled.outcomes.count == entries.count else {
                    logger.warning("results not taken by \(response.server.absoluteString): \(response.message)")
                    return false
                }
                try state.acknowledge(through: last.id)
                for (entry, outcome) in zip(entries, settled.outcomes) where outcome.status == .rejected {
                    let reasons = (outcome.errors ?? []).prefix(5).joined(separator: "; ")
                    logger.error("\(entry.kind.rawValue) result rejected (cimdb.rejected_result \(outcome.rejectedID ?? 0)): \(reasons)")
                }
                if settled.assignmentsVersion != assignmentsVersion { await refreshAssignments() }
            } catch {
                logger.warning("results kept in the journal (\(state.journaledCount()) waiting): \(error)")
                return false
            }
        }
    }

    /// Retries wait at most two heartbeats: a server back from an outage hears from the agent soon.
    private var retryBackoff: Backoff { Backoff(maximum: max(.seconds(2), configuration.heartbeat * 2)) }

    private func deliveryLoop(_ signals: AsyncStream<Void>) async {
        var backoff = retryBackoff
        var iterator = signals.makeAsyncIterator()
        while !Task.isCancelled {
            if await deliver() {
                backoff.reset()
                // Wait for a new result; a short pause lets results finished together travel together.
                guard await iterator.next() != nil else { return }
                try? await Task.sleep(for: .milliseconds(100))
            } else {
                do { try await backoff.wait() } catch { return }
            }
        }
    }

    private func heartbeatLoop() async {
        guard let identity else { return }
        while !Task.isCancelled {
            let beat = (try? JSONEncoder().encode(Heartbeat(journaled: state.journaledCount(), agentVersion: configuration.version))) ?? Data()
            // Both servers hear from the agent: each knows it is alive (SPEC §7).
            for server in transport.servers {
                if let response = try? await transport.send("POST", "/v1/heartbeat", body: [UInt8](beat), contentType: "application/json",
                                                            identity: identity, to: server),
                   response.isSuccess, let answer = try? JSONDecoder().decode(HeartbeatResponse.self, from: response.body),
                   answer.assignmentsVersion != assignmentsVersion {
                    await refreshAssignments()
                }
            }
            deliveryWake?.yield()
            do { try await Task.sleep(for: configuration.heartbeat) } catch { return }
        }
    }

    // MARK: Daemon

    /// Runs until cancelled.
    public func run() async throws {
        _ = try await enroll()
        if !(await refreshAssignments()), let stored = state.loadAssignments() {
            logger.notice("no server answered; running the last known assignments")
            adopt(stored)
        }
        let (deliveries, deliveryContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        deliveryWake = deliveryContinuation
        defer { deliveryContinuation.finish() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.deliveryLoop(deliveries) }
            group.addTask { await self.heartbeatLoop() }
            group.addTask { await self.scheduleLoop() }
            await group.next()
            group.cancelAll()
        }
    }

    private func scheduleLoop() async {
        while !Task.isCancelled {
            let now = ContinuousClock.now
            // Discovery before updates when both are due: updates read the instance cache.
            let ready = due.filter { $0.value <= now }.keys.sorted { a, b in
                (a.hasPrefix("discovery:") ? 0 : 1, a) < (b.hasPrefix("discovery:") ? 0 : 1, b)
            }
            for key in ready {
                if Task.isCancelled { return }
                if let monitor = assignments.discovery.first(where: { "discovery:" + $0.monitor == key }) {
                    due[key] = .now + nextDelay(period: monitor.periodMilliseconds)
                    do { try await runDiscovery(monitor) } catch { logger.error("discovery \(monitor.monitor): \(error)") }
                } else if let monitor = assignments.updates.first(where: { "update:" + $0.key == key }) {
                    due[key] = .now + nextDelay(period: monitor.periodMilliseconds)
                    do { try await runUpdate(monitor) } catch { logger.error("update \(monitor.key): \(error)") }
                }
            }
            // Sleep until the next run, at most a second: new assignments are picked up within it.
            let wait = min(due.values.min().map { $0 - .now } ?? .seconds(1), .seconds(1))
            if wait > .zero {
                do { try await Task.sleep(for: wait) } catch { return }
            }
        }
    }
}

extension NodeAgent {
    /// What `--once` did.
    public struct OnceSummary: Sendable {
        public var discoveryMonitors = 0
        public var updateMonitors = 0
        public var delivered = false
    }

    /// `cimdb agent --once`: enroll if needed, run every discovery monitor, deliver, fetch the
    /// update monitors that discovery deployed, run each once, deliver. Results that could not
    /// be delivered stay journaled for the next run.
    public func runOnce() async throws -> OnceSummary {
        _ = try await enroll()
        var summary = OnceSummary()
        if !(await refreshAssignments()), let stored = state.loadAssignments() { adopt(stored) }
        for monitor in assignments.discovery {
            try await runDiscovery(monitor)
            summary.discoveryMonitors += 1
        }
        summary.delivered = await deliver()
        if summary.delivered { await refreshAssignments() }
        for monitor in assignments.updates {
            try await runUpdate(monitor)
            summary.updateMonitors += 1
        }
        summary.delivered = await deliver() && summary.delivered
        return summary
    }
}

/// How an agent spreads its schedule, so that a fleet started together does not report in the
/// same second.
enum Jitter {
    /// A monitor's first run: a random delay up to `spread`, at most one period.
    static func firstDelay(period: Int64, spread: Duration, using generator: inout some RandomNumberGenerator) -> Duration {
        let limit = min(spread, .milliseconds(period))
        let milliseconds = limit.components.seconds * 1000 + limit.components.attoseconds / 1_000_000_000_000_000
        guard milliseconds > 0 else { return .zero }
        return .milliseconds(Int64.random(in: 0...milliseconds, using: &generator))
    }

    /// The next period, ±5 %, so that runs started together drift apart.
    static func nextDelay(period: Int64, using generator: inout some RandomNumberGenerator) -> Duration {
        let jitter = max(1, period / 20)
        return .milliseconds(max(1, period + Int64.random(in: -jitter...jitter, using: &generator)))
    }
}
