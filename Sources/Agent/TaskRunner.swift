import AgentProtocol
import Foundation
import Inventory
import Logging
import Subprocess

#if canImport(Glibc)
    import Glibc
    import SystemPackage
#endif

/// The agent's side of the task facility: asks its server for work (a long poll), runs each
/// target it accepts in a process group of its own, reports every runner state until a server
/// acknowledges it, kills what it is told to kill.
///
/// Nothing is lost and nothing runs twice: each accepted target has a record in the state
/// directory (`tasks/TASK-NODE.json`) from before it starts until a server acknowledged its
/// final report. A target handed over again (the acknowledgment of the hand-over was lost) is
/// recognised by its record and not started again; an agent that starts and finds a record of
/// a target that was still running reports it FAILED (agent restarted) — its process group
/// was killed by the leftover reaper (`ProcessGroups`) — and a final report that was never
/// acknowledged is sent again.
actor TaskRunner {
    struct Record: Codable, Sendable {
        var run: TaskRunSummary
        var state: RunnerState
        var report: TaskReport?
    }

    /// What a record keeps of a run (not its files).
    struct TaskRunSummary: Codable, Sendable {
        var target: TaskTargetID
        var tool: String
    }

    final class Active: @unchecked Sendable {
        // Touched only on the TaskRunner actor.
        var group: Int32?
        var stopRequested: RunnerState?
    }

    let node: String
    let directory: String
    let transport: Transport
    let groups: ProcessGroups
    let queue: BlockingQueue
    let logger: Logger
    let capacity: Int
    /// TERM, then KILL after this.
    let grace: Duration
    private var active: [TaskTargetID: Active] = [:]

    init(
        node: String, stateDirectory: String, transport: Transport, groups: ProcessGroups, queue: BlockingQueue, logger: Logger,
        capacity: Int, grace: Duration = .seconds(2)
    ) {
        self.node = node
        self.directory = stateDirectory + "/tasks"
        self.transport = transport
        self.groups = groups
        self.queue = queue
        self.logger = logger
        self.capacity = max(capacity, 1)
        self.grace = grace
    }

    // MARK: Records

    private func recordPath(_ target: TaskTargetID) -> String {
        directory + "/\(target.task)-\(NodeAgent.fileSafe(target.node)).json"
    }

    private func workDirectory(_ target: TaskTargetID) -> String {
        directory + "/\(target.task)-\(NodeAgent.fileSafe(target.node)).d"
    }

    private func save(_ record: Record) async {
        let path = recordPath(record.run.target)
        let directory = directory
        guard let data = try? JSONEncoder().encode(record) else { return }
        let ok = await queue.run { () -> Bool in
            mkdir(directory, 0o700)
            return StateFile.writeAtomically([UInt8](data), to: path)
        }
        if !ok { logger.error("task record \(path) could not be written") }
    }

    private func forget(_ target: TaskTargetID) async {
        let path = recordPath(target), work = workDirectory(target)
        _ = await queue.run { () -> Bool in
            unlink(path)
            try? FileManager.default.removeItem(atPath: work)
            return true
        }
    }

    private func isRecorded(_ target: TaskTargetID) async -> Bool {
        let path = recordPath(target)
        return await queue.run { FileManager.default.fileExists(atPath: path) }
    }

    /// At start: what an earlier agent left — targets it was running end FAILED (agent
    /// restarted); final reports it could not deliver go out again.
    func recover(identity: NodeIdentity) async {
        let directory = directory
        let records: [Record] = await queue.run {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return names.filter { $0.hasSuffix(".json") }.compactMap { name in
                FileManager.default.contents(atPath: directory + "/" + name).flatMap { try? JSONDecoder().decode(Record.self, from: $0) }
            }
        }
        for var record in records {
            if record.report == nil || !(record.report!.state.isFinal) {
                logger.warning("\(record.run.target) (\(record.run.tool)) was \(record.state.rawValue) when the agent stopped: reported FAILED")
                record.report = TaskReport(
                    target: record.run.target, state: .failed, cause: .agentRestarted,
                    detail: "the agent stopped while the target was \(record.state.rawValue); its process group was killed",
                    finishedMilliseconds: Self.now())
                record.state = .failed
                await save(record)
            }
            let final = record.report!
            Task { await self.deliverFinal(final, identity: identity) }
        }
    }

    // MARK: Polling

    /// Asks for work until cancelled.
    func pollLoop(identity: NodeIdentity) async {
        var backoff = Backoff(maximum: .seconds(5))
        while !Task.isCancelled {
            do throws(AgentError) {
                let response = try await transport.send("GET", "/v1/tasks", identity: identity)
                guard response.isSuccess, let work = try? JSONDecoder().decode(TaskWork.self, from: response.body) else {
                    logger.warning("task work: \(response.message)")
                    try? await backoff.wait()
                    continue
                }
                backoff.reset()
                await handle(work, identity: identity)
            } catch {
                logger.debug("task work: \(error)")
                do { try await backoff.wait() } catch { return }
            }
        }
    }

    func handle(_ work: TaskWork, identity: NodeIdentity) async {
        for target in work.kills where target.node == node {
            stop(target, as: .killed)
        }
        for run in work.runs {
            guard run.target.node == node else {
                logger.error("refused \(run.target): not this node's")
                continue
            }
            let recorded = await isRecorded(run.target)
            if active[run.target] != nil || recorded { continue }  // handed over again: runs once
            if let problem = run.problem {
                logger.error("refused \(run.target) (\(run.tool)): \(problem)")
                let report = TaskReport(target: run.target, state: .failed, cause: .refusedByAgent, detail: problem, finishedMilliseconds: Self.now())
                Task { await self.deliverFinal(report, identity: identity) }
                continue
            }
            if active.count >= capacity {
                logger.info("refused \(run.target) (\(run.tool)): at capacity (\(capacity) running)")
                let report = TaskReport(target: run.target, state: .refused, detail: "at capacity: \(capacity) running")
                Task { _ = await self.send(report, identity: identity, retries: 3) }
                continue
            }
            let handle = Active()
            active[run.target] = handle
            await save(Record(run: TaskRunSummary(target: run.target, tool: run.tool), state: .pending))
            Task { await self.execute(run, handle, identity: identity) }
        }
    }

    /// Asks the run's process group to end: TERM, then KILL after the grace period.
    func stop(_ target: TaskTargetID, as state: RunnerState) {
        guard let handle = active[target] else { return }
        if handle.stopRequested == nil { handle.stopRequested = state }
        guard let group = handle.group else { return }  // not started yet: it will not start
        logger.info("\(target): \(state == .killed ? "killing" : "stopping") process group \(group)")
        kill(-group, SIGTERM)
        let grace = grace
        Task {
            try? await Task.sleep(for: grace)
            kill(-group, SIGKILL)
        }
    }

    private func started(_ target: TaskTargetID, group: Int32) -> RunnerState? {
        active[target]?.group = group
        return active[target]?.stopRequested
    }

    private func stopRequest(_ target: TaskTargetID) -> RunnerState? { active[target]?.stopRequested }

    // MARK: Running

    private func execute(_ run: TaskRun, _ handle: Active, identity: NodeIdentity) async {
        let target = run.target
        let startedAt = Self.now()
        var record = Record(run: TaskRunSummary(target: target, tool: run.tool), state: .pending)
        var bytesCopied: Int64 = 0
        let work = workDirectory(target)
        let files = run.files
        // Copy. First the runner's PENDING, awaited: a target cancelled since it was handed over
        // is not started at all (CANCELLED: the command never ran).
        if !files.isEmpty {
            let state = await send(TaskReport(target: target, state: .pending, startedMilliseconds: startedAt), identity: identity, retries: 3)
            if let state, !["PENDING", "COPYING", "RUNNING"].contains(state) {
                logger.info("\(target) ended \(state) in the database before it started: not run")
                await finish(
                    TaskReport(target: target, state: .cancelled, detail: "ended \(state) before it started", finishedMilliseconds: Self.now()),
                    record: record, identity: identity)
                return
            }
            record.state = .copying
            await save(record)
            Task { _ = await self.send(TaskReport(target: target, state: .copying, startedMilliseconds: startedAt), identity: identity, retries: 3) }
        }
        let copied: Result<Int64, AgentError>
        do {
            copied = .success(
                try await queue.run { () throws(AgentError) -> Int64 in
                    do {
                        try FileManager.default.createDirectory(
                            atPath: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                        var total: Int64 = 0
                        for file in files {
                            guard StateFile.writeAtomically(file.content, to: work + "/" + file.destination) else {
                                throw AgentError.state("cannot write \(file.destination) in \(work)")
                            }
                            total += Int64(file.content.count)
                        }
                        return total
                    } catch {
                        throw .configuration("\(error)")
                    }
                })
        } catch {
            copied = .failure(error)
        }
        switch copied {
        case .success(let n): bytesCopied = n
        case .failure(let error):
            await finish(
                TaskReport(
                    target: target, state: .failed, cause: .copyFailed, detail: "\(error)", bytesCopied: bytesCopied,
                    startedMilliseconds: startedAt, finishedMilliseconds: Self.now()), record: record, identity: identity)
            return
        }
        if stopRequest(target) != nil {
            // Asked to stop before the command started: it never ran (CANCELLED, not KILLED).
            await finish(
                TaskReport(
                    target: target, state: .cancelled, bytesCopied: bytesCopied, startedMilliseconds: startedAt,
                    finishedMilliseconds: Self.now()), record: record, identity: identity)
            return
        }
        record.state = .running
        await save(record)
        let outcome = await Self.spawn(run, in: work, node: node, groups: groups) { group in
            await self.started(target, group: group)
        } whileRunning: {
            // Reported only when the command outlives a quarter second: a fast one goes
            // straight to its final report (one request instead of two).
            try? await Task.sleep(for: .milliseconds(250))
            if !Task.isCancelled {
                let state = await self.send(
                    TaskReport(target: target, state: .running, startedMilliseconds: startedAt), identity: identity, retries: 3)
                if let state, !["PENDING", "COPYING", "RUNNING"].contains(state) {
                    self.logger.info("\(target) ended \(state) in the database meanwhile: stopping it")
                    await self.stop(target, as: .cancelled)
                }
            }
        }
        let stop = stopRequest(target)
        var report = TaskReport(
            target: target, state: .complete, exitCode: outcome.exitCode, stdout: outcome.stdout, stderr: outcome.stderr, bytesCopied: bytesCopied,
            startedMilliseconds: startedAt, finishedMilliseconds: Self.now())
        switch (outcome.ending, stop) {
        case (_, .killed?): report.state = .killed
        case (_, .cancelled?): report.state = .cancelled
        case (.timedOut, _): report.state = .failed; report.cause = .timeout; report.detail = "killed after \(run.timeoutMilliseconds) ms"
        case (.couldNotStart(let why), _): report.state = .failed; report.cause = .couldNotStart; report.detail = why
        case (.signaled(let signal), _): report.state = .failed; report.cause = .killedBySignal; report.detail = "signal \(signal)"
        case (.exited(0), _): report.state = .complete
        case (.exited, _): report.state = .failed; report.cause = .exitStatus
        }
        await finish(report, record: record, identity: identity)
    }

    private func finish(_ report: TaskReport, record: Record, identity: NodeIdentity) async {
        var record = record
        record.state = report.state
        record.report = report
        await save(record)
        active[report.target] = nil
        logger.info("\(report.target) (\(record.run.tool)): \(report.state.rawValue)\(report.cause.map { " (\($0.rawValue))" } ?? "")")
        await deliverFinal(report, identity: identity)
    }

    /// Sends a final report until a server takes it (or refuses it for good), then forgets the target.
    private func deliverFinal(_ report: TaskReport, identity: NodeIdentity) async {
        var backoff = Backoff(maximum: .seconds(10))
        while !Task.isCancelled {
            if await send(report, identity: identity, retries: 0) != nil {
                await forget(report.target)
                return
            }
            do { try await backoff.wait() } catch { return }
        }
    }

    /// Sends a report; the target's state in the database, or nil when no server took it.
    /// A refusal (4xx: no such target) counts as taken: it will never be.
    private func send(_ report: TaskReport, identity: NodeIdentity, retries: Int) async -> String? {
        guard let body = try? JSONEncoder().encode(report) else { return nil }
        for attempt in 0...retries {
            do throws(AgentError) {
                let response = try await transport.send(
                    "POST", "/v1/tasks/report", body: [UInt8](body), contentType: "application/json", identity: identity)
                if response.isSuccess {
                    return (try? JSONDecoder().decode(TaskReportAnswer.self, from: response.body))?.state ?? "unknown"
                }
                if response.status < 500 {
                    logger.error("report of \(report.target) refused: \(response.message)")
                    return "refused"
                }
            } catch {
                logger.warning("report of \(report.target) (\(report.state.rawValue)): \(error)")
            }
            if attempt < retries { try? await Task.sleep(for: .seconds(1)) }
        }
        return nil
    }

    static func now() -> Int64 { RequestSignature.currentMilliseconds() }

    // MARK: Processes

    struct Outcome: Sendable {
        enum Ending: Sendable, Equatable {
            case exited(Int32)
            case signaled(Int32)
            case timedOut
            case couldNotStart(String)
        }

        var ending: Ending
        var stdout: CappedOutput
        var stderr: CappedOutput
        var exitCode: Int32? { if case .exited(let code) = ending { code } else { nil } }
    }

    private enum Stream: Sendable {
        case stdout(CappedOutput)
        case stderr(CappedOutput)
        case timedOut
    }

    /// Runs the command in a process group of its own, in `directory`, and returns once the
    /// whole group is gone.
    static func spawn(
        _ run: TaskRun, in directory: String, node: String, groups: ProcessGroups,
        started: @escaping @Sendable (Int32) async -> RunnerState?, whileRunning: @escaping @Sendable () async -> Void
    ) async -> Outcome {
        var options = PlatformOptions()
        options.processGroupID = 0
        var environment: [Environment.Key: String?] = [
            "CIMDB_NODE": node, "CIMDB_TASK": String(run.target.task), "CIMDB_TARGETS": run.targets.joined(separator: "\n"),
        ]
        for (key, value) in run.environment { environment[Environment.Key(stringLiteral: key)] = value }
        let executable: Executable
        let arguments: Arguments
        if let shell = run.shell {
            executable = .path("/bin/sh")
            arguments = Arguments(["-c", shell])
        } else {
            let argv = run.argv ?? ["false"]
            executable = argv[0].contains("/") ? .path(FilePath(argv[0])) : .name(argv[0])
            arguments = Arguments(Array(argv.dropFirst()))
        }
        let cap = run.outputCap
        let timeout = Duration.milliseconds(run.timeoutMilliseconds)
        let label = "task \(run.target.task) (\(run.tool))"
        do {
            let result = try await Subprocess.run(
                executable, arguments: arguments, environment: .inherit.updating(environment),
                workingDirectory: FilePath(directory), platformOptions: options, input: .none, output: .sequence, error: .sequence
            ) { execution in
                let group = execution.processIdentifier.value
                await groups.started(group, running: label)
                if let stop = await started(group), stop == .killed || stop == .cancelled { kill(-group, SIGKILL) }
                let reporter = Task { await whileRunning() }
                defer { reporter.cancel() }
                let captured = try await withThrowingTaskGroup(of: Stream.self) { tasks in
                    tasks.addTask { .stdout(try await keep(execution.standardOutput, cap: cap)) }
                    tasks.addTask { .stderr(try await keep(execution.standardError, cap: cap)) }
                    tasks.addTask {
                        try await Task.sleep(for: timeout)
                        return .timedOut
                    }
                    var stdout = CappedOutput(kept: [], totalBytes: 0, truncated: false), stderr = stdout
                    var timedOut = false, finished = 0
                    while finished < 2, let item = try await tasks.next() {
                        switch item {
                        case .stdout(let o): stdout = o; finished += 1
                        case .stderr(let o): stderr = o; finished += 1
                        case .timedOut:
                            timedOut = true
                            kill(-group, SIGTERM)
                            Task {
                                try? await Task.sleep(for: .seconds(2))
                                kill(-group, SIGKILL)
                            }
                        }
                    }
                    tasks.cancelAll()
                    return (stdout, stderr, timedOut)
                }
                // Nothing the command left in its group outlives it; reported once all are gone.
                kill(-group, SIGKILL)
                await waitUntilGone(group)
                await groups.finished(group)
                return captured
            }
            let (stdout, stderr, timedOut) = result.closureResult
            let ending: Outcome.Ending =
                timedOut
                ? .timedOut
                : {
                    switch result.terminationStatus {
                    case .exited(let code): .exited(code)
                    case .signaled(let signal): .signaled(signal)
                    }
                }()
            return Outcome(ending: ending, stdout: stdout, stderr: stderr)
        } catch {
            let empty = CappedOutput(kept: [], totalBytes: 0, truncated: false)
            return Outcome(ending: .couldNotStart("\(error)"), stdout: empty, stderr: empty)
        }
    }

    private static func keep(_ stream: SubprocessOutputSequence, cap: Int) async throws -> CappedOutput {
        var keeper = OutputKeeper(cap: cap)
        for try await buffer in stream {
            buffer.withUnsafeBytes { keeper.append($0) }
        }
        return keeper.output
    }

    /// Waits (at most 10 s) until no live process is left in the group (zombies waiting for
    /// their reaper do not count: they run nothing).
    static func waitUntilGone(_ group: Int32) async {
        for _ in 0..<200 {
            if !groupIsAlive(group) { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Whether a process of the group is alive (`/proc/PID/stat`: process group field 5, state field 3 not Z).
    static func groupIsAlive(_ group: Int32) -> Bool {
        guard kill(-group, 0) == 0 else { return false }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for name in names where name.first?.isNumber == true {
            guard let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 3, Int32(fields[2]) == group, fields[0] != "Z" { return true }
        }
        return false
    }
}
