import Glibc
import SQLCore

extension EmbeddedCluster {
    /// Starts the cluster and returns its status: `initdb` on first use, a stale
    /// `postmaster.pid` (its process gone) removed, `pg_ctl start -w`, then a real connection
    /// that creates the database `cimdb` when missing. Starting a running cluster is harmless.
    ///
    /// With `port`, the server also listens on 127.0.0.1:`port` (password authentication,
    /// see ``connectionString(tcp:)``); without, on its unix socket only. Errors carry the
    /// tool's message and the end of ``logFile``.
    @discardableResult
    public func start(port: Int? = nil) async throws -> ClusterStatus {
        let binaries =
            try binDirectory.map { directory throws(PostgresError) in
                try PostgresBinaries.validate(directory)
            } ?? PostgresBinaries.locate()
        let account = try await serverAccount(create: true)
        try prepareDirectories(for: account)
        if !isInitialized {
            try await initialize(binaries: binaries, account: account)
        }
        if let lock = PostmasterPID.read(dataDirectory: dataDirectory) {
            if lock.isRunning {
                if let port, lock.tcpPort != port {
                    throw PostgresError(
                        kind: .cluster,
                        message: "the cluster already runs (pid \(lock.pid)) "
                            + (lock.tcpPort.map { "on port \($0)" } ?? "on its unix socket only")
                            + "; stop it to start it on port \(port)")
                }
                try await prepareDatabase(account: account)
                return try await status()
            }
            try FileSystem.remove(dataDirectory + "/postmaster.pid")
        }
        try writeRuntimeConfiguration(port: port, account: account)
        try rotateLog()
        let output = try await account.run(
            binaries + "/pg_ctl",
            ["start", "-w", "-t", "60", "-s", "-D", dataDirectory, "-l", logFile],
            in: postgresDirectory, timeout: .seconds(90))
        guard output.succeeded, PostmasterPID.read(dataDirectory: dataDirectory)?.isRunning == true else {
            throw PostgresError(
                kind: .cluster,
                message: "pg_ctl start failed (as \(account.name)): \(output.diagnostics)\(logTail())")
        }
        try await prepareDatabase(account: account)
        return try await status()
    }

    /// The account owning the data directory, or for a new cluster the one to create it with.
    func serverAccount(create: Bool) async throws(PostgresError) -> ServerAccount {
        if isInitialized, let info = FileSystem.status(dataDirectory) {
            guard let owner = ServerAccount.lookup(uid: info.st_uid) else {
                throw PostgresError(kind: .cluster, message: "\(dataDirectory) belongs to uid \(info.st_uid), which has no account")
            }
            guard owner.isCurrentUser || ServerAccount.runningAsRoot else {
                throw PostgresError(
                    kind: .cluster,
                    message: "\(dataDirectory) belongs to the account '\(owner.name)'; run cimdb as \(owner.name) or as root")
            }
            return owner
        }
        return try await ServerAccount.resolve(create: create)
    }

    /// Connects for real (the readiness check), creates the database `cimdb` when missing and
    /// restores a lost password file.
    private func prepareDatabase(account: ServerAccount) async throws {
        let conninfo = connectionString(database: "postgres")
        let database = self.database
        let role = self.role
        let newPassword = FileSystem.exists(passwordFile) ? nil : Self.randomPassword()
        try await Blocking.run {
            let connection = try Connection(conninfo)
            defer { connection.close() }
            if try connection.execute("SELECT 1 FROM pg_database WHERE datname = \(database)").isEmpty {
                do {
                    try connection.execute("CREATE DATABASE \(identifier: database)")
                } catch let error as PostgresError where error.sqlState == "42P04" {
                    // Created meanwhile by another process.
                }
            }
            if let newPassword {
                let statement = try connection.execute(
                    "SELECT format('ALTER ROLE %I PASSWORD %L', \(role)::text, \(newPassword)::text) AS sql")
                // The server wrote the statement, quoting the role and the password itself.
                try connection.executeScript(.verbatim(statement[0].string("sql") ?? ""))
            }
        }
        if let newPassword { try writePassword(newPassword, account: account) }
    }

    /// Keeps the log short: a log over 1 MB becomes `postgres.log.1` before a start.
    private func rotateLog() throws(PostgresError) {
        guard let info = FileSystem.status(logFile), info.st_size > 1024 * 1024 else { return }
        try FileSystem.rename(logFile, to: logFile + ".1")
    }

    /// The last lines of the server log, for error messages.
    func logTail(lines count: Int = 20) -> String {
        guard let log = FileSystem.read(logFile), !log.isEmpty else { return "" }
        let lines = log.split(separator: "\n").suffix(count)
        return "\nlast lines of \(logFile):\n" + lines.joined(separator: "\n")
    }
}
