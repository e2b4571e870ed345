import AgentProtocol
public import Foundation
import Inventory
public import Logging
import HTTPClient

/// How `cimdb agent` runs.
public struct AgentConfiguration: Sendable {
    /// The servers, both active (SPEC §7); at least one.
    public var servers: [URL]
    public var stateDirectory: String
    public var node: String
    /// The enrollment token, needed once (when the state directory holds no credential): read
    /// from a file or the environment, never an argument (the process list is public).
    public var token: String?
    /// The first run of each monitor waits a random time up to this (at most its period), so
    /// that a fleet started together does not report in the same second.
    public var spread: Duration
    /// How often the agent tells the servers it is alive.
    public var heartbeat: Duration
    public var maximumOutputBytes: Int
    public var version: String
    /// For https:// servers: the CA (or the server's own certificate) to verify them against;
    /// nil: the system's CAs.
    public var caFile: String?
    /// Task targets run at once at most; one more is refused (the facility retries it).
    public var maxTasks: Int

    public init(
        servers: [URL], stateDirectory: String, node: String, token: String? = nil, spread: Duration = .seconds(30),
        heartbeat: Duration = .seconds(30), maximumOutputBytes: Int = 16 << 20, version: String = "cimdb-agent", caFile: String? = nil,
        maxTasks: Int = 4
    ) {
        self.maxTasks = maxTasks
        self.servers = servers
        self.stateDirectory = stateDirectory
        self.node = node
        self.token = token
        self.spread = spread
        self.heartbeat = heartbeat
        self.maximumOutputBytes = maximumOutputBytes
        self.version = version
        self.caFile = caFile
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
    /// Runs task targets (the task facility).
    let tasks: TaskRunner
    private var identity: NodeIdentity?
    private var assignments = Assignments(discovery: [], updates: [])
    private var assignmentsVersion = ""
    /// When each monitor runs next (a value: this actor gives it the clock's time).
    private var schedule: Schedule<SystemRandomNumberGenerator>
    private var deliveryWake: AsyncStream<Void>.Continuation?
    /// Servers whose last heartbeat got no answer: logged once, not at every beat.
    private var silentServers: Set<URL> = []
    /// How long the last server that refused results for now asked the agent to wait.
    private var retryAfter: Duration?

    public init(configuration: AgentConfiguration, logger: Logger) async throws(AgentError) {
        guard !configuration.servers.isEmpty else { throw .configuration("no server given (--server URL, up to two)") }
        self.configuration = configuration
        let state = try await AgentState.open(directory: configuration.stateDirectory)
        self.state = state
        let keyring = Keyring(try await state.loadSiteKeys()) { keys throws(AgentError) in try await state.saveSiteKeys(keys) }
        var tls: TLSContext?
        if configuration.servers.contains(where: { $0.scheme?.lowercased() == "https" }) {
            do {
                tls = try TLSContext(caFile: configuration.caFile)
            } catch {
                throw .configuration("\(error)")
            }
        }
        self.transport = Transport(servers: configuration.servers, node: configuration.node, keyring: keyring, tls: tls)
        self.logger = logger
        self.tasks = TaskRunner(
            node: configuration.node, stateDirectory: configuration.stateDirectory, transport: transport,
            groups: ProcessGroups(directory: state.runningDirectory, queue: state.queue), queue: state.queue, logger: logger,
            capacity: configuration.maxTasks)
        self.schedule = Schedule(spread: configuration.spread, generator: SystemRandomNumberGenerator())
        try await state.writeAtomically(Helpers.script, to: state.helpersPath)
        try await state.restoreCacheFiles()
        // Scripts an earlier agent (killed, so it could not kill them) left running.
        for leftover in await processGroups.reapLeftovers() {
            if leftover.killed { logger.warning("\(leftover)") } else { logger.notice("\(leftover)") }
        }
    }

    private var runs: MonitorRuns {
        MonitorRuns(
            node: configuration.node, state: state,
            runner: ScriptRunner(maximumOutputBytes: configuration.maximumOutputBytes, groups: processGroups), logger: logger)
    }

    private var processGroups: ProcessGroups { ProcessGroups(directory: state.runningDirectory, queue: state.queue) }

    /// A monitor's name as a file name: anything but letters, digits, `.`, `_`, `-` becomes `_`
    /// (names come from the server: never a path).
    static func fileSafe(_ name: String) -> String {
        let safe = String(
            name.unicodeScalars.map { c -> Character in
                c.properties.isASCIIHexDigit || (c.value >= 0x41 && c.value <= 0x5A) || (c.value >= 0x61 && c.value <= 0x7A) || c == "." || c == "_"
                    || c == "-" ? Character(c) : "_"
            }
        ).prefix(150)
        return FileName.problem(String(safe)) == nil ? String(safe) : "_" + safe
    }

    private var scripts: ScriptCache {
        let transport = transport
        let identity = identity
        let logger = logger
        return ScriptCache(directory: state.scriptsDirectory, queue: state.queue, logger: logger) { hash in
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
    /// retried with backoff until a server accepts or refuses it (`retrying`; else each server
    /// is asked once, for `--once`).
    func enroll(retrying: Bool = true) async throws -> NodeIdentity {
        if let identity { return identity }
        if let stored = try await state.loadIdentity() {
            guard stored.node == configuration.node else {
                throw AgentError.configuration("the state directory \(state.directory) belongs to node \(stored.node), not \(configuration.node)")
            }
            guard !transport.keyring.trusted.isEmpty else {
                throw AgentError.configuration(
                    "no site key is pinned in \(state.directory) (enrolled by an agent that did not check answers): enroll again with a new token (cimdb node enroll \(stored.node))"
                )
            }
            identity = stored
            return stored
        }
        guard let token = configuration.token else { throw AgentError.notEnrolled(node: configuration.node) }
        guard let fingerprint = EnrollmentToken.fingerprint(of: token) else {
            throw AgentError.configuration(
                "the enrollment token does not end in the site key's fingerprint (cimdb-SECRET.FINGERPRINT): make a new one with cimdb node enroll \(configuration.node)"
            )
        }
        let candidate = NodeIdentity(node: configuration.node)
        let body = try JSONEncoder().encode(EnrollRequest(node: candidate.node, token: token, publicKey: candidate.publicKeyBase64))
        var backoff = retryBackoff
        while true {
            do throws(AgentError) {
                // Accepted only when signed by the key the token names; that key is then pinned.
                let response = try await transport.send(
                    "POST", "/v1/enroll", body: [UInt8](body), contentType: "application/json", identity: nil, enrolling: fingerprint)
                if response.isSuccess {
                    try await state.saveIdentity(candidate)
                    identity = candidate
                    logger.info("enrolled as node \(candidate.node) with \(response.server.absoluteString)")
                    return candidate
                }
                if response.status < 500 || !retrying {
                    throw .refused(request: "enrollment", server: response.server.absoluteString, message: response.message)
                }
                logger.warning("enrollment: \(response.message); trying again in \(backoff.current)")
            } catch {
                guard case .noServerAnswered = error, retrying else { throw error }
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
        let fresh: Assignments
        do {
            let response = try await transport.send("GET", "/v1/assignments", identity: identity)
            guard response.isSuccess else {
                logger.warning("assignments: \(response.message)")
                return false
            }
            fresh = try JSONDecoder().decode(Assignments.self, from: response.body)
        } catch {
            logger.warning("assignments: \(error)")
            return false
        }
        let problems = fresh.problems
        guard problems.isEmpty else {
            logger.error("assignments refused, the last ones kept: \(problems.prefix(5).joined(separator: "; "))")
            return false
        }
        adopt(fresh)
        do {
            try await state.saveAssignments(fresh)
        } catch {
            logger.error("the assignments were not saved (a start without a server would run older ones): \(error)")
        }
        return true
    }

    /// The assignments stored by the last successful refresh, when no server answers now.
    private func adoptStoredAssignments() async {
        do {
            guard let stored = try await state.loadAssignments() else { return }
            logger.notice("no server answered; running the last known assignments")
            adopt(stored)
        } catch {
            logger.error("no server answered and the last known assignments cannot be read: \(error)")
        }
    }

    private func adopt(_ fresh: Assignments) {
        let added = fresh.updates.count - assignments.updates.count
        if fresh != assignments {
            logger.info(
                "assignments: \(fresh.discovery.count) discovery monitor(s), \(fresh.updates.count) update monitor(s)\(added > 0 ? " (+\(added))" : "")"
            )
        }
        assignments = fresh
        assignmentsVersion = fresh.version
        schedule.adopt(fresh, now: .now)
    }

    // MARK: Running monitors

    /// Runs one discovery monitor now and journals its result.
    func runDiscovery(_ monitor: Assignments.Discovery) async throws(AgentError) {
        let marker = "discovery-" + Self.fileSafe(monitor.monitor)
        await processGroups.runStarted(marker, label: "discovery \(monitor.monitor)")
        let result = await runs.discovery(monitor, scripts: scripts)
        try await state.journal(kind: .discovery, sequenceName: "discovery:" + monitor.monitor) { sequence in
            var numbered = result
            numbered.sequence = sequence
            return Envelope.encode(numbered)
        }
        await processGroups.runJournaled(marker)
        let failed = result.settings.filter { $0.status == .failed }
        let failures = failed.isEmpty ? "" : "; failed: " + failed.map { "\($0.id) (\($0.failure ?? ""))" }.joined(separator: ", ")
        logger.info("discovery \(monitor.monitor): \(result.settings.count - failed.count) of \(result.settings.count) settings ran\(failures)")
        deliveryWake?.yield()
    }

    /// Runs one update monitor now and journals its result.
    func runUpdate(_ monitor: Assignments.Update) async throws(AgentError) {
        let marker = "update-" + Self.fileSafe(monitor.key)
        await processGroups.runStarted(marker, label: "update \(monitor.key)")
        let result = await runs.update(monitor, scripts: scripts)
        try await state.journal(kind: .update, sequenceName: "update:" + monitor.key) { sequence in
            var numbered = result
            numbered.sequence = sequence
            return Envelope.encode(numbered)
        }
        await processGroups.runJournaled(marker)
        if result.status == .failed { logger.warning("update \(monitor.key): \(result.failure ?? "failed")") }
        deliveryWake?.yield()
    }

    // MARK: Delivery

    /// Sends the journal, oldest first, until it is empty; false when no server took it, or
    /// the journal could not be read (both retried later).
    func deliver() async -> Bool {
        guard let identity else { return false }
        var batchBytes = 4 << 20
        while true {
            let entries: [AgentState.JournalEntry]
            do {
                entries = try await state.pending(maximumBytes: batchBytes)
            } catch {
                logger.error("the journal cannot be read; trying again later: \(error)")
                return false
            }
            guard let last = entries.last else { return true }
            let body = ResultBatch(entries.map { ResultBatch.Item(kind: $0.kind, envelope: $0.envelope) }).encoded()
            do throws(AgentError) {
                let response = try await transport.send("POST", "/v1/results", body: body, contentType: ResultBatch.contentType, identity: identity)
                if response.status == 413 {
                    // Over the server's body limit: send them one at a time; one result alone
                    // over it can never be delivered and is set aside in the state file.
                    if entries.count > 1 {
                        batchBytes = 0
                        continue
                    }
                    try await state.setAside(entries[0], reason: "\(body.count) bytes, over \(response.server.absoluteString)'s limit")
                    logger.error(
                        "a \(entries[0].kind.rawValue) result of \(body.count) bytes is over the server's limit: set aside in \(state.directory)/state.db (table undeliverable)"
                    )
                    continue
                }
                // A body that does not decode is no settlement: the results stay, as with an error status.
                guard response.isSuccess, let settled = try? JSONDecoder().decode(ResultBatchResponse.self, from: response.body),
                    settled.outcomes.count == entries.count
                else {
                    retryAfter = response.retryAfter.map { .seconds(min(max($0, 0), 300)) }
                    logger.warning(
                        "results not taken by \(response.server.absoluteString): \(response.message)\(retryAfter.map { "; it asks to wait \($0)" } ?? "")"
                    )
                    return false
                }
                try await state.acknowledge(through: last.id)
                for (entry, outcome) in zip(entries, settled.outcomes) where outcome.status == .rejected {
                    let reasons = (outcome.errors ?? []).prefix(5).joined(separator: "; ")
                    logger.error("\(entry.kind.rawValue) result rejected (cimdb.rejected_result \(outcome.rejectedID ?? 0)): \(reasons)")
                }
                if settled.assignmentsVersion != assignmentsVersion { await refreshAssignments() }
            } catch {
                let waiting = await journaledText()
                logger.warning("results kept in the journal (\(waiting) waiting): \(error)")
                return false
            }
        }
    }

    /// How many results wait, for a log line.
    private func journaledText() async -> String {
        do {
            return String(try await state.journaledCount())
        } catch {
            return "an unknown number of results (\(error))"
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
                do { try await Task.sleep(for: .milliseconds(100)) } catch { return }
            } else if let wait = retryAfter {
                // The server said when to come back (Retry-After): not before, whatever the backoff.
                retryAfter = nil
                do { try await backoff.wait(atLeast: wait) } catch { return }
            } else {
                do { try await backoff.wait() } catch { return }
            }
        }
    }

    private func heartbeatLoop() async {
        guard let identity else { return }
        while !Task.isCancelled {
            // Without the journal's count the beat is empty: the server records the count as unknown.
            var beat: [UInt8] = []
            do {
                let journaled = try await state.journaledCount()
                beat = [UInt8](try JSONEncoder().encode(Heartbeat(journaled: journaled, agentVersion: configuration.version)))
            } catch {
                logger.error("heartbeat without the journal's count: \(error)")
            }
            // Both servers hear from the agent: each knows it is alive (SPEC §7).
            for server in transport.servers {
                await heartbeat(beat, to: server, identity: identity)
            }
            deliveryWake?.yield()
            do { try await Task.sleep(for: configuration.heartbeat) } catch { return }
        }
    }

    private func heartbeat(_ beat: [UInt8], to server: URL, identity: NodeIdentity) async {
        var problem: String?
        do {
            let response = try await transport.send(
                "POST", "/v1/heartbeat", body: beat, contentType: "application/json", identity: identity, to: server)
            if !response.isSuccess {
                problem = response.message
            } else if let answer = try? JSONDecoder().decode(HeartbeatResponse.self, from: response.body) {  // else: logged below
                if answer.assignmentsVersion != assignmentsVersion { await refreshAssignments() }
            } else {
                problem = "HTTP \(response.status) without a heartbeat answer"
            }
        } catch {
            problem = "\(error)"
        }
        if let problem, !silentServers.contains(server) {
            silentServers.insert(server)
            logger.warning("heartbeat to \(server.absoluteString): \(problem) (not logged again until it answers)")
        } else if problem == nil, silentServers.remove(server) != nil {
            logger.notice("heartbeat to \(server.absoluteString) answered again")
        }
    }

    // MARK: Daemon

    /// Runs until cancelled.
    public func run() async throws {
        let identity = try await enroll()
        await tasks.recover(identity: identity)
        if !(await refreshAssignments()) { await adoptStoredAssignments() }
        let (deliveries, deliveryContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        deliveryWake = deliveryContinuation
        defer { deliveryContinuation.finish() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.deliveryLoop(deliveries) }
            group.addTask { await self.heartbeatLoop() }
            group.addTask { await self.scheduleLoop() }
            group.addTask { await self.tasks.pollLoop(identity: identity) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Runs what the schedule says is due, then sleeps until the next monitor is due, at most a
    /// second: new assignments are picked up within it.
    private func scheduleLoop() async {
        while !Task.isCancelled {
            for key in schedule.due(now: .now) {
                if Task.isCancelled { return }
                // The assignments may have changed while the previous monitor ran.
                switch key {
                case .discovery(let name):
                    guard let monitor = assignments.discovery.first(where: { $0.monitor == name }) else { continue }
                    schedule.started(key, now: .now)
                    do { try await runDiscovery(monitor) } catch { logger.error("discovery \(monitor.monitor): \(error)") }
                case .update(let name):
                    guard let monitor = assignments.updates.first(where: { $0.key == name }) else { continue }
                    schedule.started(key, now: .now)
                    do { try await runUpdate(monitor) } catch { logger.error("update \(monitor.key): \(error)") }
                }
            }
            let now = ContinuousClock.now
            let wait = min(schedule.nextWake(now: now).map { $0 - now } ?? .seconds(1), .seconds(1))
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
        _ = try await enroll(retrying: false)
        var summary = OnceSummary()
        if !(await refreshAssignments()) { await adoptStoredAssignments() }
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
