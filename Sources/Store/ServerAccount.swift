#if canImport(Glibc)
    import SQLCore
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The operating-system account PostgreSQL runs as. `initdb` and `postgres` refuse to run as
/// root, so when cimdb runs as root the cluster belongs to `postgres` (or to a system account
/// `cimdb-postgres` created for it); otherwise it belongs to the current user.
struct ServerAccount: Sendable, Hashable {
    var name: String
    var uid: uid_t
    var gid: gid_t

    /// The effective user ID of this process.
    static var currentUID: uid_t { geteuid() }

    /// Whether cimdb runs as root and so must hand PostgreSQL to another account.
    static var runningAsRoot: Bool { geteuid() == 0 }

    /// The account for a new cluster: the current user, or when root `postgres`, else
    /// `cimdb-postgres` (created with `useradd` when `create` is true).
    static func resolve(create: Bool) async throws(PostgresError) -> ServerAccount {
        guard runningAsRoot else {
            if let current = lookup(uid: geteuid()) { return current }
            throw PostgresError(kind: .cluster, message: "cannot look up the current user (uid \(geteuid()))")
        }
        if let account = lookup(name: "postgres") ?? lookup(name: fallbackName) { return account }
        guard create else {
            throw PostgresError(kind: .cluster, message: "neither a 'postgres' nor a '\(fallbackName)' account exists")
        }
        let useradd = ["/usr/sbin/useradd", "/sbin/useradd", "/usr/bin/useradd"].first(where: FileSystem.isExecutable) ?? "useradd"
        let output = try await Command.run(
            useradd,
            [
                "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                "--shell", "/usr/sbin/nologin", "--comment", "cimdb PostgreSQL", fallbackName,
            ])
        guard let account = lookup(name: fallbackName) else {
            throw PostgresError(
                kind: .cluster,
                message: "cimdb runs as root and PostgreSQL refuses to; creating the account '\(fallbackName)' failed: \(output.diagnostics)")
        }
        return account
    }

    /// The account created when root finds no `postgres` account.
    static let fallbackName = "cimdb-postgres"

    /// Whether this is the account cimdb itself runs as (no switching needed).
    var isCurrentUser: Bool { uid == geteuid() }

    /// How to run `tool` as this account: directly when it is the current user, else through
    /// `runuser -u ACCOUNT --` (or, without runuser, by setting the child's user and group IDs).
    func invocation(_ tool: String, _ arguments: [String]) -> (executable: String, arguments: [String], user: ServerAccount?) {
        if isCurrentUser { return (tool, arguments, nil) }
        if let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first(where: FileSystem.isExecutable) {
            return (runuser, ["-u", name, "--", tool] + arguments, nil)
        }
        return (tool, arguments, self)
    }

    /// Runs `tool` as this account, in `directory` (a place the account can enter, so tools do
    /// not complain about the caller's working directory).
    func run(
        _ tool: String, _ arguments: [String], in directory: String, timeout: Duration = .seconds(120)
    ) async throws(PostgresError) -> CommandOutput {
        let call = invocation(tool, arguments)
        return try await Command.run(
            call.executable, call.arguments, workingDirectory: directory,
            environment: ["LC_MESSAGES": "C"], user: call.user, timeout: timeout)
    }

    /// The current user's home directory from the password database.
    static func currentHome() -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        return buffer.withUnsafeMutableBufferPointer { storage in
            guard getpwuid_r(geteuid(), &entry, storage.baseAddress!, storage.count, &result) == 0, result != nil,
                let directory = entry.pw_dir
            else { return nil }
            return String(cString: directory)
        }
    }

    static func lookup(name: String) -> ServerAccount? {
        withPasswordBuffer { entry, buffer, result in getpwnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result) }
    }

    static func lookup(uid: uid_t) -> ServerAccount? {
        withPasswordBuffer { entry, buffer, result in getpwuid_r(uid, &entry, buffer.baseAddress!, buffer.count, &result) }
    }

    private static func withPasswordBuffer(
        _ call: (inout passwd, UnsafeMutableBufferPointer<CChar>, inout UnsafeMutablePointer<passwd>?) -> Int32
    ) -> ServerAccount? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        return buffer.withUnsafeMutableBufferPointer { storage in
            guard call(&entry, storage, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
            return ServerAccount(name: String(cString: name), uid: entry.pw_uid, gid: entry.pw_gid)
        }
    }
}
