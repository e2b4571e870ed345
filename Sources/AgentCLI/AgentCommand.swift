import Agent
public import ArgumentParser
import CommandSupport
import Foundation
import Inventory
import Logging

/// `cimdb agent` (and the small `cimdb-agent` executable): the node side.
public struct AgentCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run this node's discovery and update monitors and deliver their results.",
        discussion: """
            The agent gets its monitors from a server, runs each discovery monitor on its period \
            and each update monitor deployed on this node on its property's period (scripts are \
            fetched by SHA-256 and cached), kills a script's whole process group at its timeout, \
            and journals every result on disk before sending it: nothing is lost while servers are \
            down, and results are delivered in order once one answers. Give two servers: both are \
            active, and the agent continues with one when the other fails.

            Scripts get the bash helpers cimdb_echo, cimdb_array, cimdb_encode, cimdb_decode, \
            cimdb_instance_cache, cimdb_instance_paths, cimdb_path and cimdb_tool (BASH_ENV; \
            documented at the top of scripts/helpers.sh), and CIMDB_NODE, CIMDB_SETTINGS, CIMDB_INSTANCE_CACHE; update runs \
            also get CIMDB_PROPERTY (the property to print), so one script can serve a settings \
            object's discovery and its updates.

            The first start needs an enrollment token (`cimdb node enroll NAME` on the server \
            side), given in a file (--token-file) or in the environment (CIMDB_TOKEN) — never as \
            an argument, which every local user can read in the process list. The agent \
            exchanges it for its own key, kept in the state directory (mode 0700), and pins the \
            site key the token names: it acts only on answers signed with it.

            With --print no server is needed: the configuration's discovery scripts (default: the \
            built-in default configuration) run here and the results are shown, each line checked \
            against the wire format — for writing and debugging scripts.

            Examples:
              cimdb agent --server http://s1:7480 --server http://s2:7480 --token-file /root/n1.token
              CIMDB_TOKEN=cimdb-… cimdb agent --server http://s1:7480
              cimdb agent --server https://s1:7480 --ca /etc/cimdb/ca.pem
              cimdb agent --server http://s1:7480 --once
              cimdb agent --once --print
              cimdb agent --once --print --config my-inventory.yaml --updates
            """
    )

    @Option(
        name: .customLong("server"),
        help: ArgumentHelp(
            "A server's base URL: http:// (requests and answers signed, not encrypted) or https:// (TLS too); give two for redundancy.",
            valueName: "url"))
    var servers: [String] = []

    @Option(
        help: ArgumentHelp(
            "For https:// servers: the CA certificate(s), or the server's own certificate, to verify them against (PEM; default: the system's CAs).",
            valueName: "file"))
    var ca: String?

    @Option(help: ArgumentHelp("This node's name (default: the host name).", valueName: "name"))
    var node: String?

    @Option(help: ArgumentHelp("The state directory: credential, journal, caches (default $CIMDB_HOME/agent/NODE).", valueName: "dir"))
    var state: String?

    @Option(help: ArgumentHelp("A file holding the enrollment token, needed on the first start only (or set CIMDB_TOKEN).", valueName: "file"))
    var tokenFile: String?

    /// Refused with the reason: a token in argv is readable by every local user.
    @Option(help: .hidden)
    var token: String?

    @Flag(help: "Run every monitor once, deliver, and exit.")
    var once = false

    @Flag(help: "With --once: run locally without a server and print what would be sent.")
    var print = false

    @Option(help: ArgumentHelp("With --print: the inventory configuration to run (default: the built-in one).", valueName: "file"))
    var config: String?

    @Flag(help: "With --print: run the update scripts too.")
    var updates = false

    @Option(help: ArgumentHelp("Delay each monitor's first run by a random time up to this, in seconds (spreads a fleet).", valueName: "seconds"))
    var spread: Double = 30

    @Option(help: ArgumentHelp("Seconds between heartbeats.", valueName: "seconds"))
    var heartbeat: Double = 30

    @Option(help: ArgumentHelp("A script printing more than this many bytes fails.", valueName: "bytes"))
    var maxOutputBytes = 16 << 20

    @Option(
        help: ArgumentHelp(
            "Task targets run at once at most (the task facility); one more is refused and retried by the servers about every second.",
            valueName: "n"))
    var maxTasks = 4

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error.", valueName: "level"))
    var logLevel = "info"

    public init() {}

    public func validate() throws {
        if token != nil {
            throw ValidationError(
                "--token is not accepted: an argument is readable by every local user (/proc/PID/cmdline); give --token-file FILE or set CIMDB_TOKEN")
        }
        if print && !once { throw ValidationError("--print works with --once") }
        if !print && servers.isEmpty { throw ValidationError("give --server URL (up to two), or --once --print to run without a server") }
        if servers.count > 2 { throw ValidationError("an agent knows two servers at most") }
        for server in servers where !["http", "https"].contains(URL(string: server)?.scheme?.lowercased() ?? "") || URL(string: server)?.host == nil {
            throw ValidationError("--server \(server) is not a URL like http://host:7480 or https://host:7480")
        }
        if ca != nil && !servers.contains(where: { $0.lowercased().hasPrefix("https://") }) { throw ValidationError("--ca is for https:// servers") }
        if (config != nil || updates) && !print { throw ValidationError("--config and --updates work with --print") }
        if maxTasks < 1 { throw ValidationError("--max-tasks must be at least 1") }
        if spread < 0 || heartbeat <= 0 { throw ValidationError("--spread must be ≥ 0 and --heartbeat > 0") }
    }

    var nodeName: String { node ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost" }

    var stateDirectory: String { state ?? CimdbHome.path + "/agent/" + nodeName }

    public func run() async throws {
        try await reportingErrors {
            if print { return try await printLocally() }
            let logger = LogSetup.make("cimdb.agent", level: logLevel)
            let configuration = AgentConfiguration(
                servers: servers.compactMap { URL(string: $0) }, stateDirectory: stateDirectory, node: nodeName, token: try enrollmentToken(),
                spread: .milliseconds(Int64(spread * 1000)), heartbeat: .milliseconds(Int64(heartbeat * 1000)),
                maximumOutputBytes: maxOutputBytes, version: "cimdb \(cimdbVersion)", caFile: ca, maxTasks: maxTasks)
            let agent = try await NodeAgent(configuration: configuration, logger: logger)
            if once {
                let summary = try await agent.runOnce()
                Swift.print(
                    "ran \(summary.discoveryMonitors) discovery monitor(s) and \(summary.updateMonitors) update monitor(s); "
                        + (summary.delivered ? "all results delivered" : "results kept in the journal (no server took them)"))
                if !summary.delivered { throw ExitCode(1) }
                return
            }
            logger.info("agent for node \(nodeName) starting; state in \(stateDirectory); servers \(servers.joined(separator: ", "))")
            do {
                try await Signals.cancellingOnTermination { try await agent.run() }
            } catch is CancellationError {}
            logger.info("agent stopped")
        }
    }

    /// The token from --token-file, else from CIMDB_TOKEN; nil when neither is given.
    private func enrollmentToken() throws -> String? {
        if let tokenFile {
            do {
                let text = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                guard !text.isEmpty else { throw AgentError.configuration("the token file \(tokenFile) is empty") }
                return text
            } catch let error as AgentError {
                throw error
            } catch {
                throw AgentError.configuration("cannot read the token file \(tokenFile): \(error.localizedDescription)")
            }
        }
        let environment = ProcessInfo.processInfo.environment["CIMDB_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        // Read once and gone: the scripts the agent runs inherit its environment.
        unsetenv("CIMDB_TOKEN")
        return environment?.isEmpty == false ? environment : nil
    }

    private func printLocally() async throws {
        let configuration: InventoryConfiguration
        do {
            configuration = try config.map { try ConfigurationFile.load($0) } ?? DefaultConfiguration.load()
        } catch let errors as ConfigurationErrors {
            throw AgentError.configuration("\(errors)")
        }
        let directory = state ?? NSTemporaryDirectory() + "cimdb-agent-print-\(getpid())"
        defer { if state == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let report = try await LocalRun(
            configuration: configuration, node: nodeName, stateDirectory: directory,
            maximumOutputBytes: maxOutputBytes
        ).run(updates: updates)
        Swift.print(report.text, terminator: "")
        if report.problems > 0 { throw ExitCode(1) }
    }
}
