import AgentProtocol
import ArgumentParser
import CommandSupport
import Foundation
import NIOHTTP1
import Server
import Store
import Subprocess
import Synchronization
import Tasks

#if canImport(Glibc)
    import Glibc
#endif

/// Simulated agents for the task facility: one lightweight task per node in this process, each
/// with its own key, holding the long poll a real agent holds (a kept-alive connection of its
/// own, LoopbackHTTP), verifying every answer's site key signature as a real agent does,
/// running each target it gets (`execute`: really spawning `/bin/true`; else waiting
/// `runTime`) and reporting it COMPLETE — real signed HTTP to real servers.
final class SimulatedTaskAgents: Sendable {
    let servers: [LoopbackHTTP]
    let identities: [NodeIdentity]
    let trusted: [SiteKey.Public]
    let runTime: Duration
    /// Targets run at once per simulated agent; more are refused (REFUSED), as a real one does.
    let capacity: Int
    /// A command each target really runs (`true`), found on $PATH, instead of waiting `runTime`.
    let execute: String?
    /// Connections shared by the reports of all agents (a poll holds its own).
    private let reportConnections: [ConnectionSlot]

    struct Ran: Sendable {
        var target: TaskTargetID
        var received: Date
        var reported: Date
    }

    private let ran = Mutex<[Ran]>([])
    private let verifyFailures = Atomic<Int>(0)

    init(servers: [URL], identities: [NodeIdentity], trusted: [SiteKey.Public], runTime: Duration, capacity: Int = 4, execute: String? = nil) {
        self.servers = servers.map { LoopbackHTTP(host: $0.host ?? "127.0.0.1", port: $0.port ?? 7480) }
        self.identities = identities
        self.trusted = trusted
        self.runTime = runTime
        self.capacity = capacity
        self.execute = execute.flatMap(Self.find)
        reportConnections = (0..<(32 * max(servers.count, 1))).map { _ in ConnectionSlot() }
    }

    var runs: [Ran] { ran.withLock { $0 } }
    var unverifiedAnswers: Int { verifyFailures.load(ordering: .relaxed) }

    /// Enrolls each node with its token (real enrollment).
    static func enroll(nodes: [String], tokens: [String], server: URL) async throws -> [NodeIdentity] {
        let http = LoopbackHTTP(host: server.host ?? "127.0.0.1", port: server.port ?? 7480)
        let connections = try await concurrently(16, width: 16) { _ in try await http.connect() }
        defer { for connection in connections { connection.close() } }
        return try await concurrently(nodes.count, width: 16) { index in
            let identity = NodeIdentity(node: nodes[index])
            let body = try JSONEncoder().encode(EnrollRequest(node: identity.node, token: tokens[index], publicKey: identity.publicKeyBase64))
            let answer = try await connections[index % 16].send(
                .POST, "/v1/enroll",
                headers: [
                    ("Content-Type", "application/json"), (RequestSignature.nodeHeader, identity.node),
                    (RequestSignature.nonceHeader, RequestSignature.randomNonce()),
                ], body: [UInt8](body))
            guard answer.status == 200 else { throw CommandFailure("enrollment of \(identity.node) refused (HTTP \(answer.status))") }
            return identity
        }
    }

    /// Runs every simulated agent until the task is cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for (index, identity) in identities.enumerated() {
                group.addTask { await self.agent(identity, index: index) }
            }
        }
        for server in servers { await server.shutdown() }
    }

    private func agent(_ identity: NodeIdentity, index: Int) async {
        var server = index % servers.count
        var poll: LoopbackConnection?
        let running = RunningCount()
        while !Task.isCancelled {
            do {
                if poll == nil { poll = try await servers[server].connect() }
                let (status, body) = try await send("GET", "/v1/tasks", body: [], identity: identity, on: poll!)
                guard status == 200, let work = try? JSONDecoder().decode(TaskWork.self, from: Data(body)) else {
                    poll?.close()
                    poll = nil
                    server = (server + 1) % servers.count
                    try await Task.sleep(for: .milliseconds(500))
                    continue
                }
                for run in work.runs {
                    let received = Date()
                    if !running.enter(limit: capacity) {
                        Task { _ = await self.report(TaskReport(target: run.target, state: .refused), identity: identity, index: index) }
                        continue
                    }
                    Task {
                        defer { running.leave() }
                        let started = RequestSignature.currentMilliseconds()
                        var exit: Int32 = 0
                        if let command = self.execute {
                            exit = await Self.spawn(command)
                        } else if self.runTime > .zero {
                            try? await Task.sleep(for: self.runTime)
                        }
                        let empty = CappedOutput(kept: [], totalBytes: 0, truncated: false)
                        let report = TaskReport(
                            target: run.target, state: exit == 0 ? .complete : .failed, cause: exit == 0 ? nil : .exitStatus, exitCode: exit,
                            stdout: empty, stderr: empty, bytesCopied: 0, startedMilliseconds: started,
                            finishedMilliseconds: RequestSignature.currentMilliseconds())
                        for attempt in 0..<50 {
                            if await self.report(report, identity: identity, index: index + attempt) { break }
                            try? await Task.sleep(for: .milliseconds(200))
                        }
                        self.ran.withLock { $0.append(Ran(target: run.target, received: received, reported: Date())) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                poll?.close()
                poll = nil
                server = (server + 1) % servers.count
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        poll?.close()
    }

    /// Sends a report on one of the shared connections (by `index`); whether a server took it.
    private func report(_ report: TaskReport, identity: NodeIdentity, index: Int) async -> Bool {
        let slot = reportConnections[index % reportConnections.count]
        let server = servers[index % reportConnections.count % servers.count]
        do {
            var connection = slot.connection.withLock { $0 }
            if connection == nil {
                let fresh = try await server.connect()
                connection = fresh
                slot.connection.withLock { $0 = fresh }
            }
            let (status, _) = try await send(
                "POST", "/v1/tasks/report", body: [UInt8](try JSONEncoder().encode(report)), identity: identity, on: connection!)
            return status == 200
        } catch {
            slot.connection.withLock {
                $0?.close()
                $0 = nil
            }
            return false
        }
    }

    private func send(
        _ method: String, _ path: String, body: [UInt8], identity: NodeIdentity, on connection: LoopbackConnection
    ) async throws -> (Int, [UInt8]) {
        let nonce = RequestSignature.randomNonce()
        var headers = RequestSignature.sign(method: method, path: path, body: body, identity: identity, nonce: nonce).map { ($0.name, $0.value) }
        if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
        let answer = try await connection.send(method == "GET" ? .GET : .POST, path, headers: headers, body: body)
        // As a real agent: an answer that does not verify is no answer.
        let verified = ResponseSignature.verify(
            status: answer.status, method: method, path: path, node: identity.node, nonce: nonce, body: answer.body,
            header: { answer.headers.first(name: $0) }, trusted: trusted)
        guard case .success = verified else {
            verifyFailures.add(1, ordering: .relaxed)
            return (0, [])
        }
        return (answer.status, answer.body)
    }

    /// The command on $PATH.
    static func find(_ command: String) -> String? {
        if command.contains("/") { return command }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(command)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Spawns `path` without arguments and waits for it (posix_spawn, waited on a Dispatch
    /// thread: swift-subprocess closes every descriptor up to the limit in each child, which
    /// with this process's thousands of sockets cost more than the run itself).
    static func spawn(_ path: String) async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var pid: pid_t = 0
                let argument = strdup(path)
                defer { free(argument) }
                var argv: [UnsafeMutablePointer<CChar>?] = [argument, nil]
                var envp: [UnsafeMutablePointer<CChar>?] = [nil]
                guard posix_spawn(&pid, path, nil, nil, &argv, &envp) == 0 else {
                    continuation.resume(returning: 127)
                    return
                }
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                continuation.resume(returning: (status >> 8) & 0xFF)
            }
        }
    }
}

/// `cimdb bench task-agents` (hidden): simulated task agents as a process of their own, for
/// the tests (a node set, enrolled with tokens made here), until killed.
struct BenchTaskAgents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task-agents", abstract: "Simulated task agents for the given nodes, until killed (tests).", shouldDisplay: false)

    @Option(help: "A libpq connection string.") var databaseURL: String
    @Option(help: "The servers (repeatable).") var server: [String]
    @Option(help: "The nodes, a node set.") var nodes: String
    @Option(help: "Milliseconds each target 'runs'.") var runMilliseconds = 200
    @Option(help: "Targets at once per agent.") var capacity = 4

    func run() async throws {
        try await reportingErrors {
            let names = try NodeSet(parsing: nodes).names
            let connection = try Connection(databaseURL)
            let tokens = try names.map { try Enrollment.createToken(for: $0, validFor: .seconds(3600), on: connection) }
            let trusted = try SiteKeyStore.list(on: connection).compactMap { SiteKey.Public(base64: $0.publicKey) }
            connection.close()
            let urls = server.compactMap { URL(string: $0) }
            let identities = try await SimulatedTaskAgents.enroll(nodes: names, tokens: tokens, server: urls[0])
            FileHandle.standardOutput.write(Data("enrolled \(identities.count) simulated agents\n".utf8))
            let agents = SimulatedTaskAgents(
                servers: urls, identities: identities, trusted: trusted, runTime: .milliseconds(Int64(runMilliseconds)), capacity: capacity)
            await agents.run()
        }
    }
}

/// Targets a simulated agent runs now.
final class RunningCount: Sendable {
    private let count = Mutex(0)

    /// Takes a place when fewer than `limit` are taken.
    func enter(limit: Int) -> Bool {
        count.withLock { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    func leave() { count.withLock { $0 -= 1 } }
}

/// A shared connection, made when first needed and again after it failed.
final class ConnectionSlot: Sendable {
    let connection = Mutex<LoopbackConnection?>(nil)
}
