@testable import Store
import Testing

#if canImport(Glibc)
    import Glibc
    import SQLCore
#endif

@Suite("Embedded cluster")
struct ClusterTests {
    /// A cluster in a fresh 0700 directory (so that, as root, an ancestor must be opened for
    /// the server account), removed with its parent after `body`.
    private func withCluster(_ label: String, _ body: (EmbeddedCluster, String) async throws -> Void) async throws {
        let parent = try makeTemporaryDirectory(label)
        let cluster = EmbeddedCluster(home: parent + "/home", settings: ["fsync": "off"])
        do {
            try await body(cluster, parent)
        } catch {
            try? await cluster.stop()
            TemporaryFiles.remove(parent)
            throw error
        }
        try? await cluster.stop()
        TemporaryFiles.remove(parent)
    }

    /// Runs psql against `conninfo` and returns its unaligned output.
    private func psql(_ conninfo: String, _ sql: String) async throws -> CommandOutput {
        try await Command.run("/usr/bin/psql", [conninfo, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], timeout: .seconds(30))
    }

    @Test("start, start again, status, psql, stop, stop again; as root, PostgreSQL runs as another account")
    func lifecycle() async throws {
        try await withCluster("lifecycle") { cluster, parent in
            let first = try await cluster.start()
            #expect(first.initialized && first.running)
            #expect(first.pid != nil)
            #expect(first.port == nil)
            #expect(first.version == "15" || first.version != nil)
            #expect(first.dataDirectory == parent + "/home/postgres/data")
            #expect(first.socketDirectory == parent + "/home/postgres")

            let second = try await cluster.start()
            #expect(second.pid == first.pid)

            let output = try await psql(cluster.connectionString(), "select current_user || ' ' || current_database()")
            #expect(output.succeeded, "psql: \(output.diagnostics)")
            #expect(output.standardOutput == "cimdb cimdb\n")
            #expect(cluster.connectionString() == defaultPortURI("postgresql://cimdb@/cimdb?host=\(parent)/home/postgres"))

            let pid = try #require(first.pid)
            let processOwner = try #require(Self.ownerUID(of: pid))
            if geteuid() == 0 {
                let account = try #require(ServerAccount.lookup(name: first.account))
                #expect(first.account != "root")
                #expect(processOwner == account.uid)
                #expect(first.note?.contains("cimdb runs as root; PostgreSQL runs as the '\(first.account)' account") == true)
                #expect(first.note?.contains(parent) == true)
                #expect((FileSystem.status(parent)?.st_mode ?? 0) & S_IXOTH != 0)
            } else {
                #expect(processOwner == geteuid())
                #expect(first.note == nil)
            }

            try await cluster.stop()
            let stopped = try await cluster.status()
            #expect(stopped.initialized && !stopped.running)
            #expect(stopped.pid == nil)
            try await cluster.stop()
            #expect(!PostmasterPID.isAlive(pid))
        }
    }

    @Test("a stale postmaster.pid (its process gone) is reported and removed at start")
    func stalePIDFile() async throws {
        try await withCluster("stale") { cluster, _ in
            try await cluster.start()
            try await cluster.stop()
            let deadPID = Self.unusedPID()
            try FileSystem.write(
                "\(deadPID)\n\(cluster.dataDirectory)\n1700000000\n5432\n\(cluster.socketDirectory)\n\n  1234  5678\nready   \n",
                to: cluster.dataDirectory + "/postmaster.pid", mode: 0o600)
            let stale = try await cluster.status()
            #expect(!stale.running)
            #expect(stale.note?.contains("stale postmaster.pid (pid \(deadPID)") == true)
            let restarted = try await cluster.start()
            #expect(restarted.running)
            #expect(restarted.pid != deadPID)
            let output = try await psql(cluster.connectionString(), "select 1")
            #expect(output.standardOutput == "1\n", "psql: \(output.diagnostics)")
        }
    }

    @Test("with a port, the cluster listens on 127.0.0.1 with a password from a 0600 file")
    func tcpPort() async throws {
        try await withCluster("tcp") { cluster, _ in
            // A port someone else listens on: the start fails with the server log's reason.
            let busy = try LoopbackListener()
            let failure = await #expect(throws: PostgresError.self) { try await cluster.start(port: busy.port) }
            #expect(failure?.message.contains("pg_ctl start failed") == true)
            #expect(failure?.message.contains("last lines of \(cluster.logFile)") == true)
            #expect(failure?.message.contains("Address already in use") == true)
            busy.close()

            let port = try freeLoopbackPort()
            let status = try await cluster.start(port: port)
            #expect(status.port == port)
            let tcp = cluster.connectionString(tcp: true)
            #expect(tcp.hasPrefix("postgresql://cimdb:") && tcp.hasSuffix("@127.0.0.1:\(port)/cimdb"))
            let overTCP = try await psql(tcp, "select inet_server_addr()::text")
            #expect(overTCP.standardOutput == "127.0.0.1/32\n", "psql: \(overTCP.diagnostics)")
            #expect(cluster.connectionString().hasSuffix("&port=\(port)"))
            let overSocket = try await psql(cluster.connectionString(), "select 1")
            #expect(overSocket.standardOutput == "1\n", "psql: \(overSocket.diagnostics)")
            #expect((FileSystem.status(cluster.passwordFile)?.st_mode ?? 0) & 0o777 == 0o600)

            let wrongPassword = tcp.replacingPassword(with: "wrong")
            let refused = try await psql(wrongPassword, "select 1")
            #expect(!refused.succeeded)
            #expect(refused.diagnostics.contains("password authentication failed"))

            await #expect(throws: PostgresError.self) { try await cluster.start(port: port + 1) }
        }
    }

    @Test("missing server programs produce an error with the apt-get hint")
    func missingBinaries() async throws {
        let empty = try makeTemporaryDirectory("nobin")
        defer { TemporaryFiles.remove(empty) }
        let error = #expect(throws: PostgresError.self) {
            try PostgresBinaries.locate(environment: ["CIMDB_PG_BINDIR": empty, "PATH": "/usr/bin:/bin"])
        }
        #expect(error?.kind == .cluster)
        #expect(error?.debugDescription.contains("apt-get install postgresql") == true)
        #expect(error?.message.contains(empty) == true)

        let cluster = EmbeddedCluster(home: empty + "/home", binDirectory: empty)
        let startError = await #expect(throws: PostgresError.self) { try await cluster.start() }
        #expect(startError?.debugDescription.contains("apt-get install postgresql") == true)
        #expect(!FileSystem.exists(empty + "/home"))
    }

    @Test("the server programs are found without an override")
    func locatesBinaries() throws {
        let directory = try PostgresBinaries.locate(environment: ["PATH": "/usr/bin:/bin"])
        #expect(FileSystem.isExecutable(directory + "/initdb"))
        #expect(FileSystem.isExecutable(directory + "/pg_ctl"))
    }

    /// The real user ID of a running process, from /proc.
    static func ownerUID(of pid: Int32) -> uid_t? {
        guard let status = FileSystem.read("/proc/\(pid)/status") else { return nil }
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }) else { return nil }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap { uid_t($0) }
    }

    /// A process ID no process has.
    static func unusedPID() -> Int32 {
        var pid: Int32 = 4_000_000
        while kill(pid, 0) == 0 || errno != ESRCH { pid -= 1 }
        return pid
    }
}

extension String {
    /// A `postgresql://user:password@…` URI with another password.
    func replacingPassword(with password: String) -> String {
        guard let at = firstIndex(of: "@"), let colon = self[index(startIndex, offsetBy: 13)..<at].firstIndex(of: ":") else { return self }
        return String(self[...colon]) + password + String(self[at...])
    }
}
