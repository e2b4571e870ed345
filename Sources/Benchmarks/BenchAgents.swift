import AgentProtocol
import ArgumentParser
import CommandSupport
import Fleet
import Foundation
import Inventory
import Migrations
import Server
import Store
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What the agent benchmarks share: a scratch database, migrated and configured, and a
/// `cimdb server` child process on it.
struct BenchInstallation {
    let scratch: ScratchDatabases
    let conninfo: String

    static func open(_ name: String, configuration: InventoryConfiguration) async throws -> BenchInstallation {
        let scratch = try await ScratchDatabases.open()
        return BenchInstallation(scratch: scratch, conninfo: try scratch.createInstalled(name, configuration: configuration))
    }

    /// Starts `cimdb server` in `group` and waits for /health.
    func startServer(port: Int, log: String, in group: inout ThrowingTaskGroup<Void, any Error>) async throws {
        let executable = ChildProcess.selfExecutable
        let conninfo = conninfo
        group.addTask {
            let status = try await ChildProcess.run(executable, ["server", "--port", String(port), "--database-url", conninfo], log: log)
            throw CommandFailure("the server \(status); see \(log)")
        }
        try await ServerHealth.wait(port: port, log: log)
    }
}

/// /proc readings of one process.
struct ProcessSample {
    /// Resident set size, bytes.
    var rss: Int
    /// CPU time of the process, and of the process and its waited-for children (scripts), in clock ticks.
    var ticks: Int
    var ticksWithChildren: Int

    static func read(_ pid: Int32) -> ProcessSample? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let rssKB = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        // Fields after the command: state is field 3; utime, stime, cutime, cstime are 14–17.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        func field(_ n: Int) -> Int { Int(fields[n - 3]) ?? 0 }
        return ProcessSample(rss: rssKB * 1024, ticks: field(14) + field(15), ticksWithChildren: field(14) + field(15) + field(16) + field(17))
    }

    /// The process whose command line contains `marker`.
    static func find(containing marker: String) -> Int32? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), pid != getpid(),
                let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { continue }
            if String(decoding: cmdline.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(marker) { return pid }
        }
        return nil
    }
}

/// `cimdb bench agent`: the agent's footprint on a node, as the thesis measured its client.
struct BenchAgentFootprint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Sample a real agent's resident size and CPU for minutes, with the default monitors.",
        discussion: """
            Starts a scratch database with the default configuration, a `cimdb server` and a \
            `cimdb agent` for this machine (child processes of this binary: build with -c release), \
            and samples the agent every second: resident size (VmRSS) and CPU time, its own and \
            with the scripts it ran. Reports the idle (median) and peak RSS and the mean CPU over \
            the run, against the goals (idle RSS ≤ 15 MB, mean CPU ≤ 0.5 % of one core) and the \
            thesis's client (about 6.3 MB, 0.54 %).
            """
    )

    @Option(help: "How long to sample, in minutes.") var minutes: Double = 10
    @Option(help: ArgumentHelp("The agent to run: this cimdb (`cimdb agent`, the default) or a `cimdb-agent` executable.", valueName: "path"))
    var executable: String?
    @Option(help: "The server's port.") var port = 7581
    @Flag(help: "Keep the scratch database.") var keep = false

    func run() async throws {
        try await reportingErrors {
            let installation = try await BenchInstallation.open("agent", configuration: try DefaultConfiguration.load())
            defer { installation.scratch.close(keep: keep) }
            let directory = NSTemporaryDirectory() + "cimdb-bench-agent-\(getpid())"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let token = try {
                let connection = try Connection(installation.conninfo)
                defer { connection.close() }
                return try Enrollment.createToken(for: "bench-node", validFor: .seconds(3600), on: connection)
            }()
            print("cimdb bench agent: \(minutes) min with the default monitors (discovery every 12 min, updates every 8 min)")
            let agent = executable ?? ChildProcess.selfExecutable
            // `cimdb agent …`, or `cimdb-agent …` (the agent alone).
            let prefix = (agent as NSString).lastPathComponent == "cimdb-agent" ? [] : ["agent"]
            print("  agent: \(agent) \(prefix.joined())")
            let state = directory + "/state"
            let port = port, minutes = minutes
            try await withThrowingTaskGroup(of: Void.self) { group in
                try await installation.startServer(port: port, log: directory + "/server.log", in: &group)
                group.addTask {
                    let status = try await ChildProcess.run(
                        agent,
                        prefix + [
                            "--server", "http://127.0.0.1:\(port)", "--node", "bench-node", "--state", state,
                            "--spread", "0", "--log-level", "warning",
                        ], log: directory + "/agent.log", environment: ["CIMDB_TOKEN": token])
                    throw CommandFailure("the agent \(status); see \(directory)/agent.log")
                }
                group.addTask {
                    try await Self.sample(marker: state, minutes: minutes)
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    static func sample(marker: String, minutes: Double) async throws {
        var pid: Int32?
        for _ in 0..<100 where pid == nil {
            pid = ProcessSample.find(containing: marker)
            if pid == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard let pid, let first = ProcessSample.read(pid) else { throw CommandFailure("the agent process was not found") }
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let start = ContinuousClock.now
        let end = start + .milliseconds(Int64(minutes * 60_000))
        var rss: [Int] = []
        var last = first
        var nextReport = start + .seconds(60)
        while ContinuousClock.now < end {
            try await Task.sleep(for: .seconds(1))
            guard let sample = ProcessSample.read(pid) else { throw CommandFailure("the agent exited during the run") }
            rss.append(sample.rss)
            last = sample
            if ContinuousClock.now >= nextReport {
                let elapsed = (ContinuousClock.now - start).seconds
                Output.error(
                    String(
                        format: "  %.0f s: RSS %.1f MB, CPU %.3f %% (with scripts %.3f %%)", elapsed, Double(sample.rss) / 1e6,
                        Double(sample.ticks - first.ticks) / ticksPerSecond / elapsed * 100,
                        Double(sample.ticksWithChildren - first.ticksWithChildren) / ticksPerSecond / elapsed * 100))
                nextReport = nextReport + .seconds(60)
            }
        }
        let seconds = (ContinuousClock.now - start).seconds
        let sorted = rss.sorted()
        let idle = Double(sorted[sorted.count / 2]) / 1e6
        let peak = Double(sorted.last ?? 0) / 1e6
        let cpu = Double(last.ticks - first.ticks) / ticksPerSecond / seconds * 100
        let cpuWithScripts = Double(last.ticksWithChildren - first.ticksWithChildren) / ticksPerSecond / seconds * 100
        print(String(format: "  %d samples over %.0f s", rss.count, seconds))
        print(
            String(
                format: "  idle RSS (median) %.1f MB, peak %.1f MB (goal ≤ 15 MB: %@; thesis client ≈ 6.3 MB)",
                idle, peak, idle <= 15 ? "met" : "NOT met"))
        print(
            String(
                format: "  mean CPU %.3f %% of one core, %.3f %% with the scripts it ran (goal ≤ 0.5 %%: %@; thesis client 0.54 %%)",
                cpu, cpuWithScripts, cpuWithScripts <= 0.5 ? "met" : (cpu <= 0.5 ? "met by the agent, not with its scripts" : "NOT met")))
    }
}
