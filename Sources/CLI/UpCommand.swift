import ArgumentParser
import CommandSupport
import Foundation
import Ingest
import Installation
import Inventory
import Migrations
import ModelStore
import Server
import SQLCore
import Store

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `cimdb up`: everything on this machine, in one command.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the database, a server and an agent for this machine, and show its inventory.",
        discussion: """
            On a fresh machine: starts the embedded PostgreSQL (in $CIMDB_HOME, unless a database \
            URL is given), installs the schema and the default model, loads the default inventory \
            configuration (when none is loaded), enrolls this machine, starts `cimdb server` and \
            `cimdb agent`, waits for the first discovery and the first values of every update \
            monitor, and prints a summary with the psql command to explore.

            Then it keeps running, so that the inventory stays current: Ctrl-C, or `cimdb down` \
            from another terminal, stops the agent, the server and the embedded database. Logs \
            are in $CIMDB_HOME/logs.

            Examples:
              cimdb up
              cimdb up --port 7481 --node demo
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "The server's port.")
    var port = 7480

    @Option(help: ArgumentHelp("This machine's node name (default: the host name).", valueName: "name"))
    var node: String?

    @Option(help: ArgumentHelp("Seconds to wait for the first discovery and updates.", valueName: "seconds"))
    var timeout: Double = 180

    @Flag(help: "Leave the embedded database running when stopping.")
    var keepDatabase = false

    var nodeName: String { node ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost" }

    static var pidFile: String { CimdbHome.path + "/up.pid" }

    func run() async throws {
        try await reportingErrors {
            let home = CimdbHome.path
            let logs = home + "/logs"
            try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            if let pid = UpCommand.runningPID() {
                throw CommandFailure("cimdb up is already running (pid \(pid)); stop it with `cimdb down`")
            }
            step("database")
            let conninfo = try await database.conninfo(quiet: true)
            let connection = try await database.connect(quiet: true)
            defer { connection.close() }
            try connection.execute("SET client_min_messages = warning")
            done(database.source == .embedded ? "embedded PostgreSQL in \(database.cluster.postgresDirectory)" : "connected")

            step("schema and default model")
            let applied = try Schema.install(on: connection)
            done(applied.isEmpty ? "up to date" : "\(applied.count) migration(s) applied")

            step("inventory configuration")
            let loaded = try connection.execute("SELECT count(*) AS n FROM cimdb.inventory_settings").first?.int64("n") ?? 0
            if loaded == 0 {
                let diff = try ConfigurationStore.apply(try DefaultConfiguration.load(), on: connection)
                done("default configuration loaded (\(diff.description.split(separator: "\n").count) change(s))")
            } else {
                done("\(loaded) settings already configured, kept")
            }

            let node = nodeName
            let agentState = home + "/agent/" + node
            let arguments = ["--server", "http://127.0.0.1:\(port)", "--node", node, "--state", agentState, "--spread", "0"]
            // The token goes to the agent in its environment (readable by this user only), not in argv.
            var agentEnvironment: [String: String] = [:]
            if !FileManager.default.fileExists(atPath: agentState + "/identity") {
                step("enrolling node \(node)")
                agentEnvironment["CIMDB_TOKEN"] = try Enrollment.createToken(for: node, validFor: .seconds(3600), on: connection)
                done("token made")
            }
            try "\(getpid())\n".write(toFile: UpCommand.pidFile, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: UpCommand.pidFile) }

            let executable = ChildProcess.selfExecutable
            let since = try connection.execute("SELECT now()::text AS t").first?["t"] ?? ""
            let agentArguments = arguments, agentTokenEnvironment = agentEnvironment
            let stopDatabase = database.source == .embedded && !keepDatabase
            do {
                try await Signals.cancellingOnTermination { [port, timeout] in
                    try await withThrowingTaskGroup(of: String.self) { group in
                        step("server")
                        group.addTask {
                            let status = try await ChildProcess.run(
                                executable, ["server", "--port", String(port), "--database-url", conninfo],
                                log: logs + "/server.log")
                            return "the server \(status) (see \(logs)/server.log)"
                        }
                        try await ServerHealth.wait(port: port, log: logs + "/server.log")
                        done("http://127.0.0.1:\(port) (log: \(logs)/server.log)")
                        step("agent for node \(node)")
                        group.addTask {
                            let status = try await ChildProcess.run(
                                executable, ["agent"] + agentArguments, log: logs + "/agent.log", environment: agentTokenEnvironment)
                            return "the agent \(status) (see \(logs)/agent.log)"
                        }
                        done("started (log: \(logs)/agent.log)")
                        group.addTask {
                            // Beside the children's tasks: the polls run on a connection and a
                            // queue of their own (libpq blocks; the cooperative threads must not).
                            let waiting = DedicatedConnection(conninfo: conninfo, label: "cimdb.up.wait")
                            try await UpCommand.waitForInventory(node: node, since: since, timeout: timeout, on: waiting)
                            let summary = try await waiting.run { try UpCommand.summary(node: node, on: $0, conninfo: conninfo) }
                            await waiting.close()
                            FileHandle.standardOutput.write(
                                Data(
                                    (summary
                                        + "\ncimdb is running: server http://127.0.0.1:\(port), agent for node \(node). Ctrl-C or `cimdb down` stops it.\n")
                                        .utf8))
                            try await Task.sleep(for: .seconds(365 * 24 * 3600))
                            return ""
                        }
                        // Whatever ends first (a child exiting, a failure) ends `up`.
                        let first = try await group.next() ?? ""
                        group.cancelAll()
                        throw CommandFailure(first)
                    }
                }
            } catch is CancellationError {
                Output.error("stopping: agent and server stopped")
            }
            if stopDatabase {
                try await database.cluster.stop()
                Output.error("stopped the embedded database")
            }
        }
    }

    // MARK: Steps

    private func step(_ what: String) {
        FileHandle.standardError.write(Data("• \(what) … ".utf8))
    }

    private func done(_ what: String) {
        FileHandle.standardError.write(Data("\(what)\n".utf8))
    }

    static func runningPID() -> Int32? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), isRunning(pid)
        else { return nil }
        return pid
    }

    /// Whether `pid` is a live process (a zombie, ended but not yet reaped by its parent, is not).
    static func isRunning(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Waits until the node's discovery is applied and every update monitor deployed on it has
    /// delivered a result since `since`, printing progress.
    static func waitForInventory(node: String, since: String, timeout: Double, on session: DedicatedConnection) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        var shown = ""
        while true {
            let row = try await session.run { connection in
                try connection.execute(
                    """
                    SELECT (SELECT last_discovery_at >= \(since)::timestamptz FROM cimdb.node WHERE name = \(node)) AS discovered,
                           (SELECT count(*) FROM cimdb.update_deployment WHERE node = \(node)) AS deployed,
                           (SELECT count(*) FROM cimdb.update_run WHERE node = \(node) AND applied_at >= \(since)::timestamptz) AS updated,
                           (SELECT count(*) FROM cimdb.instance_source WHERE node = \(node)) AS instances
                    """
                ).first
            }
            let discovered = row?.bool("discovered") ?? false
            let deployed = row?.int64("deployed") ?? 0, updated = row?.int64("updated") ?? 0, instances = row?.int64("instances") ?? 0
            let progress =
                discovered ? "discovered \(instances) instances; update monitors \(updated)/\(deployed)" : "waiting for the first discovery"
            if progress != shown {
                FileHandle.standardError.write(Data("  \(progress)\n".utf8))
                shown = progress
            }
            if discovered && updated >= deployed { return }
            if ContinuousClock.now > deadline {
                throw CommandFailure("no complete inventory of \(node) after \(Int(timeout)) s (\(progress)); see the logs in \(CimdbHome.path)/logs")
            }
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    static func summary(node: String, on connection: Connection, conninfo: String) throws -> String {
        var out = "\nInventory of \(node):\n"
        for row in try connection.execute(
            """
            SELECT i.class_name, count(*) AS n FROM cimdb.instance_source s JOIN cimdb.instance i ON i.id = s.instance_id
            WHERE s.node = \(node) GROUP BY i.class_name ORDER BY i.class_name
            """)
        {
            out += "  \((row["class_name"] ?? "").padding(toLength: 28, withPad: " ", startingAt: 0)) \(row["n"] ?? "0")\n"
        }
        if let s = try connection.execute("SELECT * FROM report.node_summary WHERE node = \(node)").first {
            out += "\n  CPUs \(s["cpus"] ?? "0") × \(s["cpu_model"] ?? "?"); memory \(s["memory_gib"].map { "\($0) GiB" } ?? "unknown");"
            out += " filesystems \(s["filesystem_tib"].map { "\($0) TiB" } ?? "unknown"); NICs \(s["nics"] ?? "0")\n"
        }
        let changes = try connection.execute("SELECT count(*) AS n FROM cimdb.event WHERE node = \(node)").first?["n"] ?? "0"
        out += "  \(changes) events so far (SELECT * FROM report.recent_changes)\n"
        out += "\nExplore with SQL:\n  psql '\(conninfo)'\n"
        out += "  e.g. SELECT * FROM report.node_summary;  SELECT * FROM report.ethernet_ports;  \\dv report.*\n"
        return out
    }
}

/// `cimdb down`: stops what `cimdb up` started.
struct DownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop what `cimdb up` started: the agent, the server and the embedded database.")

    @Option(help: ArgumentHelp("Seconds to wait for it to stop.", valueName: "seconds"))
    var timeout: Double = 30

    func run() async throws {
        try await reportingErrors {
            guard let pid = UpCommand.runningPID() else {
                print("cimdb up is not running")
                return
            }
            kill(pid, SIGTERM)
            let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
            while UpCommand.isRunning(pid) {
                if ContinuousClock.now > deadline { throw CommandFailure("cimdb up (pid \(pid)) did not stop within \(Int(timeout)) s") }
                try await Task.sleep(for: .milliseconds(100))
            }
            print("stopped cimdb up (pid \(pid))")
        }
    }
}
