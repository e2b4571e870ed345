import SQLCore

extension EmbeddedCluster {
    /// Stops the cluster (`pg_ctl stop -m fast`: sessions are disconnected, transactions
    /// rolled back) and returns once the server process has exited. Harmless when it is not
    /// running or does not exist; a stale `postmaster.pid` is removed.
    public func stop() async throws {
        guard isInitialized, let lock = PostmasterPID.read(dataDirectory: dataDirectory) else { return }
        guard lock.isRunning else {
            try FileSystem.remove(dataDirectory + "/postmaster.pid")
            return
        }
        let binaries =
            try binDirectory.map { directory throws(PostgresError) in
                try PostgresBinaries.validate(directory)
            } ?? PostgresBinaries.locate()
        let account = try await serverAccount(create: false)
        let output = try await account.run(
            binaries + "/pg_ctl", ["stop", "-w", "-t", "60", "-s", "-m", "fast", "-D", dataDirectory],
            in: postgresDirectory, timeout: .seconds(90))
        if !output.succeeded, PostmasterPID.read(dataDirectory: dataDirectory)?.isRunning == true {
            throw PostgresError(kind: .cluster, message: "pg_ctl stop failed: \(output.diagnostics)\(logTail())")
        }
        // pg_ctl returns once the lock file is gone; the postmaster exits an instant later.
        guard await PostmasterPID.waitForExit(lock.pid) else {
            throw PostgresError(kind: .cluster, message: "the postmaster (pid \(lock.pid)) did not exit after pg_ctl stop\(logTail())")
        }
    }

    /// Whether the cluster exists and runs, where, and as which account. Reads files only.
    public func status() async throws -> ClusterStatus {
        let initialized = isInitialized
        let lock = PostmasterPID.read(dataDirectory: dataDirectory)
        let running = initialized && lock?.isRunning == true
        let account: String
        if initialized, let owner = FileSystem.ownerName(dataDirectory) {
            account = owner
        } else if ServerAccount.runningAsRoot {
            account =
                (ServerAccount.lookup(name: "postgres") ?? ServerAccount.lookup(name: ServerAccount.fallbackName))?.name
                ?? ServerAccount.fallbackName
        } else {
            account = ServerAccount.lookup(uid: ServerAccount.currentUID)?.name ?? String(ServerAccount.currentUID)
        }
        var notes: [String] = []
        if ServerAccount.runningAsRoot {
            notes.append("cimdb runs as root; PostgreSQL runs as the '\(account)' account, which owns the data directory")
        }
        let opened = openedAncestors()
        if !opened.isEmpty {
            notes.append("made traversable (o+x) for '\(account)': \(opened.joined(separator: ", "))")
        }
        if let lock, !running, initialized {
            notes.append("a stale postmaster.pid (pid \(lock.pid), not running) will be removed at the next start")
        }
        return ClusterStatus(
            initialized: initialized, running: running, pid: running ? lock?.pid : nil,
            dataDirectory: dataDirectory, socketDirectory: socketDirectory,
            port: running ? lock?.tcpPort : nil,
            version: FileSystem.read(dataDirectory + "/PG_VERSION")?.trimmingPrefixAndSuffixSpaces(),
            account: account, note: notes.isEmpty ? nil : notes.joined(separator: "; "))
    }
}
