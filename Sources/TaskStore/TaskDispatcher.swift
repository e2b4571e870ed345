public import AgentProtocol
public import Logging
import Store

/// A server's side of task dispatch: the agents waiting on this server (their long polls), and
/// a loop that hands them work from the database.
///
/// Servers learn of new work from PostgreSQL (`LISTEN cimdb_tasks`: a task submitted,
/// cancelled or killed), and look again every second for what time alone makes due (retries of
/// refused targets, hand-overs never acknowledged, agents gone quiet). Any server may dispatch
/// any target: an agent waits on one server at a time (recorded in `cimdb.task_agent`, every
/// 10 s while it waits), and the database hands each target to the server its agent waits on
/// (`cimdb.claim_task_work`, under a lock that makes the limits hold across servers), without
/// the list of waiting agents: a hand-over costs the same for 10 or 10,000 of them. Two
/// connections of its own: one blocks in LISTEN, one claims.
public actor TaskDispatcher {
    struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<TaskWork, Never>
    }

    let conninfo: String
    let serverName: String
    let logger: Logger
    private var waiting: [String: [Waiter]] = [:]
    /// Work handed to agents that were between two polls: taken by the next poll (agents ask
    /// again at once), handed back to the database after 10 s (an agent gone meanwhile), before
    /// its hand-over's 15 s lease ends.
    private var outbox: [String: (work: TaskWork, until: ContinuousClock.Instant)] = [:]
    /// When this server last recorded each node's poll in the database (every 10 s at most).
    private var recorded: [String: ContinuousClock.Instant] = [:]
    private var lastID: UInt64 = 0
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    /// Whether the database may hold work for an agent that starts waiting now: the last
    /// hand-over found some, or something happened since (a notification, a second passed).
    /// A new poll alone looks only then — otherwise a fleet re-polling every few seconds would
    /// keep the database busy finding nothing.
    private var mayHaveWork = true

    public init(conninfo: String, serverName: String, logger: Logger) {
        self.conninfo = conninfo
        self.serverName = serverName
        self.logger = logger
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// How many agents wait on this server now.
    public var waitingAgents: Int { waiting.count }

    /// The work for `node`, as soon as there is some, or nothing after `wait`.
    public func work(for node: String, wait: Duration) async -> TaskWork {
        if let kept = outbox.removeValue(forKey: node), kept.until > .now { return kept.work }
        lastID += 1
        let id = lastID
        return await withCheckedContinuation { continuation in
            waiting[node, default: []].append(Waiter(id: id, continuation: continuation))
            if mayHaveWork { wake.yield() }
            Task { [weak self] in
                try? await Task.sleep(for: wait)
                await self?.expire(node: node, id: id)
            }
        }
    }

    private func expire(node: String, id: UInt64) {
        guard var waiters = waiting[node], let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        waiting[node] = waiters.isEmpty ? nil : waiters
        waiter.continuation.resume(returning: TaskWork())
    }

    /// A notification arrived, or a second passed: the next poll looks for work.
    private func somethingHappened() { mayHaveWork = true }

    /// Hands `work` to the nodes' waiting polls, or keeps it for their next poll.
    private func hand(_ work: [String: TaskWork]) {
        let until = ContinuousClock.now + .seconds(10)
        for (node, items) in work {
            guard var waiters = waiting[node], !waiters.isEmpty else {
                var kept = outbox[node]?.work ?? TaskWork()
                kept.runs += items.runs
                kept.kills += items.kills
                outbox[node] = (kept, until)
                continue
            }
            let waiter = waiters.removeFirst()
            waiting[node] = waiters.isEmpty ? nil : waiters
            waiter.continuation.resume(returning: items)
        }
    }

    /// The runs kept for agents that did not come back for them in time.
    private func expiredOutbox() -> [TaskTargetID] {
        let now = ContinuousClock.now
        let gone = outbox.filter { $0.value.until <= now }
        for node in gone.keys { outbox[node] = nil }
        return gone.values.flatMap { $0.work.runs.map(\.target) }
    }

    /// Runs until cancelled.
    public func run() async {
        let listener = DedicatedConnection(conninfo: conninfo, label: "cimdb.server.tasks.listen")
        let claimer = DedicatedConnection(conninfo: conninfo, label: "cimdb.server.tasks.claim")
        let wake = self.wake
        let logger = self.logger
        // LISTEN on its own connection; each notification (or a second without one) wakes the loop.
        let listening = Task {
            var listens = false
            while !Task.isCancelled {
                do {
                    if !listens {
                        try await listener.run { try $0.listen("cimdb_tasks") }
                        listens = true
                    }
                    _ = try await listener.run { try $0.notifications(timeout: .seconds(1)) }
                    self.somethingHappened()
                } catch {
                    listens = false
                    logger.warning("tasks: listening for new work: \(error)")
                    try? await Task.sleep(for: .seconds(1))
                }
                wake.yield()
            }
        }
        defer { listening.cancel() }
        var lastUpkeep = ContinuousClock.now
        for await _ in wakes {
            if Task.isCancelled { break }
            do {
                if ContinuousClock.now - lastUpkeep >= .seconds(1) {
                    lastUpkeep = .now
                    try await claimer.run { try TaskWorkQueries.upkeep(on: $0) }
                }
                let server = serverName
                let orphans = expiredOutbox()
                if !orphans.isEmpty {
                    try await claimer.run { try TaskWorkQueries.release(orphans, server: server, on: $0) }
                }
                guard !waiting.isEmpty else { continue }
                let now = ContinuousClock.now
                let seen = waiting.keys.filter { recorded[$0].map { now - $0 >= .seconds(10) } ?? true }
                for node in seen { recorded[node] = now }
                mayHaveWork = false
                let work = try await claimer.run { try TaskWorkQueries.claim(server: server, seen: seen, on: $0) }
                if !work.isEmpty { mayHaveWork = true }
                hand(work)
            } catch {
                logger.warning("tasks: handing out work: \(error)")
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        listening.cancel()
        await listener.close()
        await claimer.close()
    }
}
