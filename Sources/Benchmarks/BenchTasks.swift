import AgentProtocol
import ArgumentParser
import CommandSupport
import Foundation
import Inventory
import Server
import SQLCore
import Store
import Subprocess
#if canImport(SystemPackage)
    import SystemPackage
#endif
import TaskStore
import Tasks

/// `cimdb bench tasks`: fan-outs of `true` through the task facility, against ClusterShell and
/// Ansible ad-hoc on the same machine in the same run.
struct BenchTasks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "Fan out `true` to 1,000 targets (16 in flight) and 10,000 (256) through the task facility; clush and Ansible as references.",
        discussion: """
            A scratch database and one `cimdb server` child process on loopback; the agents are \
            simulated in this process (one task per node, each with its own key, enrolled with a \
            real token, holding the long poll a real agent holds, verifying every signed answer), \
            and each target really runs /bin/true. A task is submitted as the database's owner; \
            measured: wall time from submit to the final state, per-target latency (submit → \
            target finished) p50/p99, the server's and PostgreSQL's CPU, WAL bytes per target, \
            the server's resident size before and after.

            References in the same run, when installed (pip install ClusterShell ansible-core; \
            give their directory with --references, e.g. a venv's bin): \
            `clush -R exec -f 16 -w node[0001-1000] true` and `ansible all -c local -f 16 -m raw -a true` \
            over an inventory of as many hosts.
            """
    )

    @Option(help: "Fan-outs as TARGETS:IN_FLIGHT (repeatable).") var fanout: [String] = ["1000:16", "10000:256"]
    @Option(help: "The server's port.") var port = 7583
    @Option(help: "A directory holding clush and ansible (a venv's bin); default: $PATH.") var references: String?
    @Flag(help: "Skip the references.") var noReferences = false
    @Flag(help: "Keep the scratch database.") var keep = false
    @Flag(help: "Simulated agents report each target at once instead of running /bin/true.") var noExec = false

    struct Fanout {
        var targets: Int
        var inFlight: Int
    }

    func fanouts() throws -> [Fanout] {
        try fanout.map { text in
            let parts = text.split(separator: ":").compactMap { Int($0) }
            guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { throw ValidationError("--fanout \(text): expected TARGETS:IN_FLIGHT") }
            return Fanout(targets: parts[0], inFlight: parts[1])
        }
    }

    func validate() throws { _ = try fanouts() }

    func run() async throws {
        try await reportingErrors {
            let fanouts = try fanouts()
            let most = fanouts.map(\.targets).max() ?? 0
            let installation = try await BenchInstallation.open("tasks", configuration: try DefaultConfiguration.load())
            defer { installation.scratch.close(keep: keep) }
            let directory = NSTemporaryDirectory() + "cimdb-bench-tasks-\(getpid())"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let connection = try Connection(installation.conninfo)
            defer { connection.close() }
            try connection.execute("SELECT cimdb.put_access('tool', 'true', '{\"command\": [\"true\"]}')")
            let names = NodeSet((1...most).map { String(format: "node%05d", $0) }).names
            print(
                "cimdb bench tasks: \(fanouts.map { "\($0.targets) targets, \($0.inFlight) in flight" }.joined(separator: "; ")); one server on loopback, \(most) simulated agents"
            )
            let tokens = try names.map { try Enrollment.createToken(for: $0, validFor: .seconds(3600), on: connection) }
            let port = port
            try await withThrowingTaskGroup(of: Void.self) { group in
                try await installation.startServer(port: port, log: directory + "/server.log", in: &group)
                let server = URL(string: "http://127.0.0.1:\(port)")!
                let enrollStart = ContinuousClock.now
                let identities = try await SimulatedTaskAgents.enroll(nodes: names, tokens: tokens, server: server)
                print(String(format: "  enrolled %d agents in %.1f s", identities.count, (ContinuousClock.now - enrollStart).seconds))
                let trusted = try SiteKeyStore.list(on: connection).compactMap { SiteKey.Public(base64: $0.publicKey) }
                let agents = SimulatedTaskAgents(
                    servers: [server], identities: identities, trusted: trusted, runTime: .zero, capacity: 4, execute: noExec ? nil : "true")
                group.addTask {
                    await agents.run()
                    throw CancellationError()
                }
                let serverPID = ProcessSample.find(containing: "--port \(port) --database-url")
                while try connection.execute("SELECT count(*) FROM cimdb.task_agent").first?.int(0) ?? 0 < most {
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await dispatchLatency(names: names, connection: connection)
                for fanout in fanouts {
                    try await measure(fanout, names: Array(names.prefix(fanout.targets)), connection: connection, serverPID: serverPID)
                }
                if agents.unverifiedAnswers > 0 { print("  WARNING: \(agents.unverifiedAnswers) answers did not verify") }
                group.cancelAll()
            }
            if !noReferences {
                for fanout in fanouts where fanout.targets <= 1000 {
                    try await referenceRuns(fanout, directory: directory)
                }
            }
        }
    }

    func measure(_ fanout: Fanout, names: [String], connection: Connection, serverPID: Int32?) async throws {
        try connection.execute("SELECT cimdb.put_access('limits', 'limits', \("{\"targets\": \(fanout.inFlight), \"tasks\": 10}")::jsonb)")
        let before = ProcessSample.read(serverPID ?? 0)
        let benchBefore = ProcessSample.read(getpid())
        let postgresBefore = Self.postgresTicks()
        let walBefore = try connection.execute("SELECT pg_current_wal_lsn()::text AS l").first?["l"] ?? "0/0"
        let start = ContinuousClock.now
        let id = try TaskQueries.submit(tool: "true", nodes: NodeSet(names), groups: [], arguments: [:], on: connection)
        while true {
            let state = try connection.execute("SELECT state FROM cimdb.task WHERE id = \(id)").first?["state"] ?? ""
            if !["PENDING", "RUNNING"].contains(state) {
                let wall = (ContinuousClock.now - start).seconds
                let after = ProcessSample.read(serverPID ?? 0)
                let benchAfter = ProcessSample.read(getpid())
                let postgresAfter = Self.postgresTicks()
                let wal =
                    try connection.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), \(walBefore)::pg_lsn)::bigint AS b").first?.int64("b") ?? 0
                let latencies = try connection.execute(
                    """
                    SELECT extract(epoch FROM t.finished_at - k.created_at)::float8 AS l, t.state
                    FROM cimdb.task_target t JOIN cimdb.task k ON k.id = t.task WHERE t.task = \(id) ORDER BY 1
                    """
                ).compactMap { $0.double("l") }
                let complete =
                    try connection.execute("SELECT count(*) FROM cimdb.task_target WHERE task = \(id) AND state = 'COMPLETE'").first?.int(0) ?? 0
                let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
                let serverCPU = Double((after?.ticks ?? 0) - (before?.ticks ?? 0)) / ticks
                let postgresCPU = Double(postgresAfter - postgresBefore) / ticks
                let agentsCPU = Double((benchAfter?.ticksWithChildren ?? 0) - (benchBefore?.ticksWithChildren ?? 0)) / ticks
                print(
                    String(
                        format:
                            "  %d targets, %d in flight: %@ in %.2f s (%d complete); per target p50 %.0f ms, p99 %.0f ms; server CPU %.1f s, PostgreSQL CPU %.1f s (simulated agents %.1f s); %.0f WAL bytes/target; server RSS %.0f → %.0f MB",
                        names.count, fanout.inFlight, state, wall, complete, Self.percentile(latencies, 0.5) * 1000,
                        Self.percentile(latencies, 0.99) * 1000, serverCPU, postgresCPU, agentsCPU, Double(wal) / Double(names.count),
                        Double(before?.rss ?? 0) / 1e6, Double(after?.rss ?? 0) / 1e6))
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// How soon a task reaches an idle agent: 20 one-target tasks, one after the other, each to
    /// another idle agent; from the submission's commit to the target's start on the agent.
    func dispatchLatency(names: [String], connection: Connection) async throws {
        try connection.execute("SELECT cimdb.put_access('limits', 'limits', '{\"targets\": 16, \"tasks\": 10}'::jsonb)")
        var delays: [Double] = []
        for index in 0..<20 {
            let node = names[(index * 37) % names.count]
            let id = try TaskQueries.submit(tool: "true", nodes: NodeSet([node]), groups: [], arguments: [:], on: connection)
            while try connection.execute("SELECT finished_at IS NULL AS open FROM cimdb.task WHERE id = \(id)").first?.bool("open") == true {
                try await Task.sleep(for: .milliseconds(5))
            }
            if let delay = try connection.execute(
                "SELECT extract(epoch FROM t.started_at - k.created_at)::float8 AS d FROM cimdb.task_target t JOIN cimdb.task k ON k.id = t.task WHERE t.task = \(id)"
            ).first?.double("d") {
                delays.append(delay)
            }
        }
        delays.sort()
        print(
            String(
                format: "  an idle agent gets a task: median %.0f ms, max %.0f ms from submission to the start on the agent (%d tasks)",
                Self.percentile(delays, 0.5) * 1000, (delays.last ?? 0) * 1000, delays.count))
    }

    /// CPU ticks of every PostgreSQL process now.
    static func postgresTicks() -> Int {
        var total = 0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let comm = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8),
                comm.hasPrefix("postgres")
            else { continue }
            total += ProcessSample.read(pid)?.ticks ?? 0
        }
        return total
    }

    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * q).rounded(.up)) - 1))]
    }

    func referenceRuns(_ fanout: Fanout, directory: String) async throws {
        func tool(_ name: String) -> String? {
            let candidates =
                (references.map { [$0] } ?? []) + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            return candidates.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
        let hosts = "node[\(String(format: "%04d", 1))-\(String(format: "%04d", fanout.targets))]"
        if let clush = tool("clush") {
            let start = ContinuousClock.now
            let status = try await Self.quietly(clush, ["-R", "exec", "-f", String(fanout.inFlight), "-w", hosts, "true"])
            print(
                String(
                    format: "  reference clush -R exec -f %d -w %@ true: %.2f s (exit %d)", fanout.inFlight, hosts,
                    (ContinuousClock.now - start).seconds, status))
        } else {
            print("  reference clush: not found (pip install ClusterShell; --references DIR)")
        }
        if let ansible = tool("ansible") {
            let inventory = directory + "/inventory.ini"
            try "[all]\nnode[0001:\(String(format: "%04d", fanout.targets))] ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"
                .write(toFile: inventory, atomically: true, encoding: .utf8)
            let start = ContinuousClock.now
            let status = try await Self.quietly(
                ansible, ["all", "-i", inventory, "-c", "local", "-f", String(fanout.inFlight), "-m", "raw", "-a", "true"])
            print(
                String(
                    format: "  reference ansible all -c local -f %d -m raw -a true (%d hosts): %.2f s (exit %d)", fanout.inFlight, fanout.targets,
                    (ContinuousClock.now - start).seconds, status))
        } else {
            print("  reference ansible: not found (pip install ansible-core; --references DIR)")
        }
    }

    /// Runs a reference tool, its output discarded; its exit status.
    static func quietly(_ path: String, _ arguments: [String]) async throws -> Int32 {
        let result = try await Subprocess.run(.path(.init(path)), arguments: Arguments(arguments), output: .discarded, error: .discarded)
        if case .exited(let code) = result.terminationStatus { return code }
        return -1
    }
}
