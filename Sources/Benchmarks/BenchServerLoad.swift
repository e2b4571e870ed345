import AgentProtocol
import ArgumentParser
import CommandSupport
import Fleet
import Foundation
import Inventory
import Server
import Store
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `cimdb bench server`: many simulated agents against one real server.
struct BenchServerLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Load one `cimdb server` with thousands of simulated agents sending signed requests.",
        discussion: """
            Starts a scratch database (benchmark configuration: 23 updated properties) and one \
            `cimdb server` child process on loopback. Simulated agents — lightweight tasks in this \
            process, each a fleet node with its own key — enroll with real tokens, send their \
            discovery results (the rollout, reported apart), then every --period seconds their \
            update results (10 % of values changed per round) and, every --heartbeat seconds, a \
            heartbeat: real signed HTTP requests, each agent's schedule offset at random within \
            the period. Reports requests/s, p50/p99 latency per request kind, and the ingest lag \
            (from a result's scheduled time to its outcome) per period: lag that grows from \
            period to period means the server does not keep up.
            """
    )

    @Option(help: "Simulated agents.") var agents = 2_000
    @Option(help: "Seconds between an agent's update rounds.") var period: Double = 60
    @Option(help: "Seconds between an agent's heartbeats.") var heartbeat: Double = 30
    @Option(help: "Update periods measured after the rollout.") var periods = 3
    @Option(help: "The server's port.") var port = 7582
    @Option(help: "The fleet's seed.") var seed: UInt64 = 1
    @Flag(help: "Keep the scratch database.") var keep = false

    func validate() throws {
        guard agents >= 1, period > 0, heartbeat > 0, periods >= 1 else {
            throw ValidationError("--agents, --period, --heartbeat, --periods must be positive")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let configuration = try Fleet.benchmarkConfiguration()
            let installation = try await BenchInstallation.open("server", configuration: configuration)
            defer { installation.scratch.close(keep: keep) }
            let directory = NSTemporaryDirectory() + "cimdb-bench-server-\(getpid())"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let fleet = Fleet(size: agents, seed: seed, configuration: configuration)
            let tokens: [String] = try {
                let connection = try Connection(installation.conninfo)
                defer { connection.close() }
                return try (0..<agents).map { try Enrollment.createToken(for: fleet.node($0).name, validFor: .seconds(3600), on: connection) }
            }()
            print(
                "cimdb bench server: \(agents) agents, update period \(Int(period)) s, heartbeat \(Int(heartbeat)) s, \(periods) periods; one server on loopback"
            )
            let load = Load(
                server: URL(string: "http://127.0.0.1:\(port)")!, fleet: fleet, tokens: tokens,
                period: period, heartbeat: heartbeat, periods: periods)
            let port = port
            try await withThrowingTaskGroup(of: Void.self) { group in
                try await installation.startServer(port: port, log: directory + "/server.log", in: &group)
                group.addTask { try await load.run() }
                try await group.next()
                group.cancelAll()
            }
        }
    }
}

/// The simulated agents and what they measured.
final class Load: Sendable {
    let server: URL
    let fleet: Fleet
    let tokens: [String]
    let period: Double
    let heartbeat: Double
    let periods: Int
    let session: URLSession

    struct Record: Sendable {
        var kind: String
        var latency: Double
        /// For results: from the scheduled time to the outcome.
        var lag: Double?
        var period: Int
        var ok: Bool
    }

    private let records = Mutex<[Record]>([])

    init(server: URL, fleet: Fleet, tokens: [String], period: Double, heartbeat: Double, periods: Int) {
        self.server = server
        self.fleet = fleet
        self.tokens = tokens
        self.period = period
        self.heartbeat = heartbeat
        self.periods = periods
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        configuration.httpMaximumConnectionsPerHost = 256
        session = URLSession(configuration: configuration)
    }

    func run() async throws {
        // Enrollment: every agent exchanges its token for its key.
        let identities = try await concurrently(fleet.size, width: 64) { index -> NodeIdentity in
            let identity = NodeIdentity(node: self.fleet.node(index).name)
            let body = try JSONEncoder().encode(EnrollRequest(node: identity.node, token: self.tokens[index], publicKey: identity.publicKeyBase64))
            let (status, _) = try await self.send("POST", "/v1/enroll", body: [UInt8](body), identity: nil)
            guard status == 200 else { throw CommandFailure("enrollment of \(identity.node) refused (HTTP \(status))") }
            return identity
        }
        // Rollout: every agent's first discovery and first values, as fast as the server takes them.
        let rolloutStart = ContinuousClock.now
        _ = try await concurrently(fleet.size, width: 64) { index -> Void in
            let node = self.fleet.node(index)
            try await self.sendResults(
                ResultBatch([.init(kind: .discovery, envelope: Envelope.encode(self.fleet.discoveryResult(node, sequence: 1)))]),
                identity: identities[index], kind: "discovery", scheduled: nil, period: -1)
            let updates = self.fleet.updateResults(node, sequence: 1).map { ResultBatch.Item(kind: .update, envelope: Envelope.encode($0)) }
            try await self.sendResults(ResultBatch(updates), identity: identities[index], kind: "first values", scheduled: nil, period: -1)
        }
        let rollout = (ContinuousClock.now - rolloutStart).seconds
        print(
            String(format: "  rollout: %d discoveries and first values in %.1f s (%.0f nodes/s)", fleet.size, rollout, Double(fleet.size) / rollout))
        records.withLock { $0.removeAll() }

        // Steady state: each agent on its own schedule.
        let start = ContinuousClock.now
        let end = start + .milliseconds(Int64(Double(periods) * period * 1000))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<fleet.size {
                group.addTask { try await self.agent(index, identity: identities[index], start: start, end: end) }
            }
            try await group.waitForAll()
        }
        report(seconds: (ContinuousClock.now - start).seconds)
    }

    /// One simulated agent: update rounds every period, heartbeats in between, offset at random.
    private func agent(_ index: Int, identity: NodeIdentity, start: ContinuousClock.Instant, end: ContinuousClock.Instant) async throws {
        var generator = SystemRandomNumberGenerator()
        let offset = Double.random(in: 0..<period, using: &generator)
        let beatOffset = Double.random(in: 0..<heartbeat, using: &generator)
        var round = 1
        var nextUpdate = start + .milliseconds(Int64(offset * 1000))
        var nextBeat = start + .milliseconds(Int64(beatOffset * 1000))
        while true {
            let next = min(nextUpdate, nextBeat)
            if next >= end { return }
            try await Task.sleep(until: next, clock: .continuous)
            if nextUpdate <= nextBeat {
                round += 1
                let node = fleet.node(index, round: round)
                let updates = fleet.updateResults(node, sequence: Int64(round)).map { ResultBatch.Item(kind: .update, envelope: Envelope.encode($0)) }
                let periodIndex = Int((nextUpdate - start).seconds / period)
                try await sendResults(ResultBatch(updates), identity: identity, kind: "updates", scheduled: nextUpdate, period: periodIndex)
                nextUpdate = nextUpdate + .milliseconds(Int64(period * 1000))
            } else {
                let body = try JSONEncoder().encode(Heartbeat(journaled: 0, agentVersion: "bench"))
                let sent = ContinuousClock.now
                let (status, _) = try await send("POST", "/v1/heartbeat", body: [UInt8](body), identity: identity)
                record(
                    Record(
                        kind: "heartbeat", latency: (ContinuousClock.now - sent).seconds, lag: nil,
                        period: Int((nextBeat - start).seconds / period), ok: status == 200))
                nextBeat = nextBeat + .milliseconds(Int64(heartbeat * 1000))
            }
        }
    }

    private func sendResults(
        _ batch: ResultBatch, identity: NodeIdentity, kind: String, scheduled: ContinuousClock.Instant?, period: Int
    ) async throws {
        let body = batch.encoded()
        let sent = ContinuousClock.now
        var status = 0
        // A busy server answers 503: the agent keeps the results and sends them again.
        for _ in 0..<20 {
            (status, _) = try await send("POST", "/v1/results", body: body, identity: identity)
            if status != 503 { break }
            try await Task.sleep(for: .seconds(1))
        }
        let now = ContinuousClock.now
        record(Record(kind: kind, latency: (now - sent).seconds, lag: scheduled.map { (now - $0).seconds }, period: period, ok: status == 200))
    }

    private func record(_ record: Record) { records.withLock { $0.append(record) } }

    private func send(_ method: String, _ path: String, body: [UInt8], identity: NodeIdentity?) async throws -> (Int, Data) {
        var request = URLRequest(url: server.appendingPathComponent(path))
        request.httpMethod = method
        request.httpBody = Data(body)
        if let identity {
            for (name, value) in RequestSignature.sign(method: method, path: path, body: body, identity: identity) {
                request.setValue(value, forHTTPHeaderField: name)
            }
        }
        let (data, response) = try await session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    private func report(seconds: Double) {
        let all = records.withLock { $0 }
        let failed = all.filter { !$0.ok }.count
        print(
            String(
                format: "  steady state: %d requests in %.0f s = %.1f requests/s; %d failed", all.count, seconds, Double(all.count) / seconds, failed)
        )
        for kind in ["updates", "heartbeat"] {
            let latencies = all.filter { $0.kind == kind }.map(\.latency).sorted()
            guard !latencies.isEmpty else { continue }
            print(
                String(
                    format: "  %@: %d requests, latency p50 %.1f ms, p99 %.1f ms, max %.1f ms", kind, latencies.count,
                    percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000, (latencies.last ?? 0) * 1000))
        }
        let results = all.filter { $0.kind == "updates" }
        let overall = results.map(\.latency).sorted()
        for index in 0..<periods {
            let lags = results.filter { $0.period == index }.compactMap(\.lag).sorted()
            guard !lags.isEmpty else { continue }
            print(
                String(
                    format: "  period %d: ingest lag p50 %.1f ms, p99 %.1f ms (%d update batches)", index + 1,
                    percentile(lags, 0.5) * 1000, percentile(lags, 0.99) * 1000, lags.count))
        }
        let p99 = percentile(overall, 0.99)
        let first = results.filter { $0.period == 0 }.compactMap(\.lag).sorted()
        let last = results.filter { $0.period == periods - 1 }.compactMap(\.lag).sorted()
        let growth = first.isEmpty || last.isEmpty ? 0 : percentile(last, 0.5) - percentile(first, 0.5)
        // Lag growth: the last period's median lag more than 50 ms above the first's.
        let met = p99 < 0.5 && growth < 0.05
        print(
            String(
                format: "  goal p99 < 500 ms with no lag growth: p99 %.1f ms, median lag first → last period %+.1f ms: %@",
                p99 * 1000, growth * 1000, met ? "met" : "NOT met"))
    }

    private func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((Double(sorted.count) * q).rounded(.up)) - 1
        return sorted[min(sorted.count - 1, max(0, rank))]
    }
}

/// Runs `body` for 0..<count with at most `width` at a time; results in order.
func concurrently<T: Sendable>(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
    var results = [T?](repeating: nil, count: count)
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        var next = 0
        while next < min(width, count) {
            let index = next
            group.addTask { (index, try await body(index)) }
            next += 1
        }
        while let (index, value) = try await group.next() {
            results[index] = value
            if next < count {
                let index = next
                group.addTask { (index, try await body(index)) }
                next += 1
            }
        }
    }
    return results.map { $0! }
}
