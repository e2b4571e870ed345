import AgentProtocol
import ArgumentParser
import CommandSupport
import Foundation
import Server
import Store
import Subprocess
import Synchronization
import Tasks

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Simulated agents for the task facility: one lightweight task per node in this process, each
/// with its own key, holding the long poll a real agent holds, verifying every answer's site
/// key signature as a real agent does, "running" each target it gets for `runTime` and
/// reporting it COMPLETE (exit 0, empty outputs) — real signed HTTP to real servers.
final class SimulatedTaskAgents: Sendable {
    let servers: [URL]
    let identities: [NodeIdentity]
    let trusted: [SiteKey.Public]
    let runTime: Duration
    let session: URLSession
    /// Targets run at once per simulated agent; more are refused (REFUSED), as a real one does.
    let capacity: Int
    /// A command each target really runs (`true`), instead of sleeping `runTime`.
    let execute: String?

    struct Ran: Sendable {
        var target: TaskTargetID
        var received: Date
        var reported: Date
    }

    private let ran = Mutex<[Ran]>([])
    private let verifyFailures = Atomic<Int>(0)

    init(servers: [URL], identities: [NodeIdentity], trusted: [SiteKey.Public], runTime: Duration, capacity: Int = 4, execute: String? = nil) {
        self.execute = execute
        self.servers = servers
        self.identities = identities
        self.trusted = trusted
        self.runTime = runTime
        self.capacity = capacity
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.httpMaximumConnectionsPerHost = max(identities.count * 2, 64)
        session = URLSession(configuration: configuration)
    }

    var runs: [Ran] { ran.withLock { $0 } }
    var unverifiedAnswers: Int { verifyFailures.load(ordering: .relaxed) }

    /// Enrolls each node with its token (real enrollment, the answer verified).
    static func enroll(nodes: [String], tokens: [String], server: URL) async throws -> [NodeIdentity] {
        let session = URLSession(configuration: .ephemeral)
        return try await concurrently(nodes.count, width: 32) { index in
            let identity = NodeIdentity(node: nodes[index])
            let body = try JSONEncoder().encode(EnrollRequest(node: identity.node, token: tokens[index], publicKey: identity.publicKeyBase64))
            var request = URLRequest(url: server.appendingPathComponent("/v1/enroll"))
            request.httpMethod = "POST"
            request.httpBody = body
            request.setValue(identity.node, forHTTPHeaderField: RequestSignature.nodeHeader)
            request.setValue(RequestSignature.randomNonce(), forHTTPHeaderField: RequestSignature.nonceHeader)
            let (_, response) = try await session.data(for: request)
            guard (response as? HTTPURLResponse)?.statusCode == 200 else {
                throw CommandFailure("enrollment of \(identity.node) refused (HTTP \((response as? HTTPURLResponse)?.statusCode ?? 0))")
            }
            return identity
        }
    }

    /// Runs every simulated agent until the task is cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for identity in identities {
                group.addTask { await self.agent(identity) }
            }
        }
    }

    private func agent(_ identity: NodeIdentity) async {
        var server = Int.random(in: 0..<servers.count)
        let running = RunningCount()
        while !Task.isCancelled {
            do {
                let (status, body) = try await send("GET", "/v1/tasks", body: [], identity: identity, server: servers[server])
                guard status == 200, let work = try? JSONDecoder().decode(TaskWork.self, from: body) else {
                    server = (server + 1) % servers.count
                    try await Task.sleep(for: .milliseconds(500))
                    continue
                }
                for run in work.runs {
                    let received = Date()
                    if !running.enter(limit: capacity) {
                        let chosen = servers[server]
                        Task { _ = try? await self.report(TaskReport(target: run.target, state: .refused), identity: identity, server: chosen) }
                        continue
                    }
                    let runTime = runTime, chosen = servers[server]
                    Task {
                        defer { running.leave() }
                        let started = TaskRunnerClock.now()
                        if let command = self.execute {
                            _ = try? await Subprocess.run(.name(command), output: .discarded, error: .discarded)
                        } else {
                            try? await Task.sleep(for: runTime)
                        }
                        let empty = CappedOutput(kept: [], totalBytes: 0, truncated: false)
                        let report = TaskReport(
                            target: run.target, state: .complete, exitCode: 0, stdout: empty, stderr: empty, bytesCopied: 0,
                            startedMilliseconds: started, finishedMilliseconds: TaskRunnerClock.now())
                        for attempt in 0..<20 {
                            if (try? await self.report(report, identity: identity, server: attempt == 0 ? chosen : self.servers[attempt % self.servers.count])) == true {
                                break
                            }
                            try? await Task.sleep(for: .milliseconds(200))
                        }
                        self.ran.withLock { $0.append(Ran(target: run.target, received: received, reported: Date())) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                server = (server + 1) % servers.count
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    private func report(_ report: TaskReport, identity: NodeIdentity, server: URL) async throws -> Bool {
        let (status, _) = try await send("POST", "/v1/tasks/report", body: [UInt8](try JSONEncoder().encode(report)), identity: identity, server: server)
        return status == 200
    }

    private func send(_ method: String, _ path: String, body: [UInt8], identity: NodeIdentity, server: URL) async throws -> (Int, Data) {
        var request = URLRequest(url: server.appendingPathComponent(path))
        request.httpMethod = method
        request.httpBody = Data(body)
        let nonce = RequestSignature.randomNonce()
        for (name, value) in RequestSignature.sign(method: method, path: path, body: body, identity: identity, nonce: nonce) {
            request.setValue(value, forHTTPHeaderField: name)
        }
        if !body.isEmpty { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        let status = http?.statusCode ?? 0
        // As a real agent: an answer that does not verify is no answer.
        let verified = ResponseSignature.verify(
            status: status, method: method, path: path, node: identity.node, nonce: nonce, body: [UInt8](data),
            header: { http?.value(forHTTPHeaderField: $0) }, trusted: trusted)
        guard case .success = verified else {
            verifyFailures.add(1, ordering: .relaxed)
            return (0, Data())
        }
        return (status, data)
    }
}

enum TaskRunnerClock {
    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
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
