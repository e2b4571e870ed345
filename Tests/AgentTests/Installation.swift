import Foundation
import Store
import StoreTesting

#if canImport(Glibc)
    import Glibc
    import SQLCore
#endif

/// A whole installation of real processes for one test: a database on the shared test
/// PostgreSQL, migrated and configured with Fixtures/inventory.yaml; up to two `cimdb server`
/// processes; `cimdb agent` processes with distinct node names, whose scripts read the
/// fixture directory `nodes/NODE` (its `disks/` files are the node's file systems).
final class Installation: @unchecked Sendable {
    // @unchecked: used by one test at a time.
    let conninfo: String
    let directory: String
    let ports: [Int]
    private(set) var servers: [Spawned?]
    private(set) var agents: [String: Spawned] = [:]

    /// Agents are given these servers (default: the installation's own); a test puts a man in
    /// the middle here.
    var agentServerURLs: [String]?
    /// More arguments for every agent started (`--ca FILE`).
    var agentArguments: [String] = []
    /// Servers serve https, verified against this CA (their health is checked so).
    var caFile: String?

    /// `conninfo`: a database of the test's own (a dedicated cluster it may kill); default a
    /// new database on the shared test PostgreSQL. `configuration`: a file of Fixtures/.
    init(servers count: Int = 2, conninfo: String? = nil, configuration: String = "inventory.yaml") async throws {
        if let conninfo {
            self.conninfo = conninfo
        } else {
            self.conninfo = try await TestPostgres.createDatabase()
        }
        let conninfo = self.conninfo
        directory = try temporaryDirectory("installation")
        ports = try (0..<count).map { _ in try freePort() }
        servers = Array(repeating: nil, count: count)
        let migrate = try await cimdb(["migrate", "--database-url", conninfo])
        guard migrate.status == 0 else { throw TestFailure("migrate failed: \(migrate.output)") }
        let apply = try await cimdb(["inventory", "apply", fixtures.appendingPathComponent(configuration).path, "--database-url", conninfo])
        guard apply.status == 0 else { throw TestFailure("inventory apply failed: \(apply.output)") }
    }

    deinit {
        for agent in agents.values { agent.stop(signal: SIGKILL) }
        for server in servers { server?.stop(signal: SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    func serverName(_ index: Int) -> String { "server\(index + 1)" }
    var serverURLs: [String] { ports.map { "http://127.0.0.1:\($0)" } }

    /// Starts server `index` and waits until it answers /health.
    func startServer(_ index: Int, _ extra: [String] = []) async throws {
        servers[index] = try Spawned(
            ["server", "--port", String(ports[index]), "--name", serverName(index), "--database-url", conninfo] + extra,
            log: directory + "/\(serverName(index)).log")
        let caFile = caFile, url = serverURLs[index]
        try await eventually("\(serverName(index)) answers /health", timeout: .seconds(90)) {
            if let caFile { return await httpsHealth("https://127.0.0.1:\(ports[index])", caFile: caFile) == 200 }
            return (try? await send(url, "GET", "/health", body: [], headers: []))?.status == 200
        }
    }

    func serverPID(_ index: Int) -> Int32? { servers[index]?.pid }

    func stopServer(_ index: Int, signal: Int32 = SIGTERM) {
        servers[index]?.stop(signal: signal)
        servers[index] = nil
    }

    func serverLog(_ index: Int) -> String { (try? String(contentsOfFile: directory + "/\(serverName(index)).log", encoding: .utf8)) ?? "" }

    /// The fixture directory of a node.
    func nodeDirectory(_ node: String) -> String { directory + "/nodes/" + node }

    func setDisks(_ node: String, _ disks: [String: Int]) throws {
        let path = nodeDirectory(node) + "/disks"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, size) in disks { try "\(size)\n".write(toFile: path + "/" + name, atomically: true, encoding: .utf8) }
    }

    func addDisk(_ node: String, _ name: String, size: Int) throws {
        try "\(size)\n".write(toFile: nodeDirectory(node) + "/disks/" + name, atomically: true, encoding: .utf8)
    }

    func removeDisk(_ node: String, _ name: String) throws {
        try FileManager.default.removeItem(atPath: nodeDirectory(node) + "/disks/" + name)
    }

    func setCaption(_ node: String, _ caption: String) throws {
        try caption.write(toFile: nodeDirectory(node) + "/caption", atomically: true, encoding: .utf8)
    }

    /// Enrolls `node` (a token from `cimdb node enroll`) and starts its agent with both servers.
    func startAgent(_ node: String) async throws {
        var arguments = ["agent", "--node", node, "--state", directory + "/agents/" + node, "--spread", "0", "--heartbeat", "1"]
        for url in agentServerURLs ?? serverURLs { arguments += ["--server", url] }
        arguments += agentArguments
        var environment = ["FIXTURE_DIR": directory + "/nodes"]
        if !FileManager.default.fileExists(atPath: directory + "/agents/" + node + "/identity") {
            let enroll = try await cimdb(["node", "enroll", node, "--database-url", conninfo])
            guard enroll.status == 0, let token = enroll.output.split(separator: "\n").first(where: { $0.hasPrefix("cimdb-") }) else {
                throw TestFailure("node enroll failed: \(enroll.output)")
            }
            environment["CIMDB_TOKEN"] = String(token)
        }
        agents[node] = try Spawned(arguments, environment: environment, log: directory + "/agent-\(node).log")
    }

    /// Kills a node's agent at once (SIGKILL: no clean shutdown).
    func killAgent(_ node: String) {
        agents[node]?.stop(signal: SIGKILL)
        agents[node] = nil
    }

    func agentPID(_ node: String) -> Int32? { agents[node]?.pid }

    func agentLog(_ node: String) -> String {
        (try? String(contentsOfFile: directory + "/agent-\(node).log", encoding: .utf8)) ?? ""
    }

    func agentState(_ node: String) -> String { directory + "/agents/" + node }

    /// Runs a query on the installation's database.
    func query(_ sql: SQL) throws -> QueryResult {
        let connection = try Connection(conninfo)
        defer { connection.close() }
        return try connection.execute(sql)
    }

    func count(_ sql: SQL) throws -> Int64 {
        try query(sql).first?.int64(0) ?? -1
    }

    /// `query` on a Dispatch thread: a test that polls the database often must not hold one of
    /// the test process's two cooperative threads in libpq (the in-process router tests run on
    /// them).
    func queryAsync(_ sql: SQL) async throws -> QueryResult {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try self.query(sql) }) }
        }
    }

    func countAsync(_ sql: SQL) async throws -> Int64 {
        try await queryAsync(sql).first?.int64(0) ?? -1
    }

    /// File systems of a node in the inventory, by mount point, with their sizes.
    func fileSystems(_ node: String) throws -> [String: Int64?] {
        var out: [String: Int64?] = [:]
        for row in try query("SELECT name, filesystemsize FROM cim.cim_filesystem WHERE csname = \(node)") {
            out[row["name"] ?? ""] = row.int64("filesystemsize")
        }
        return out
    }

    func hostedFileSystems(_ node: String) throws -> Int64 {
        try count(
            """
            SELECT count(*) FROM cim.cim_hostedfilesystem h JOIN cim.cim_filesystem f ON f.instance_id = h.partcomponent
            WHERE f.csname = \(node)
            """)
    }
}
