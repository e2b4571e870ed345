#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where cimdb keeps what it runs on this machine: the embedded PostgreSQL, agents' state
/// directories, logs. `$CIMDB_HOME`, else `$XDG_DATA_HOME/cimdb`, else `~/.local/share/cimdb`.
public enum CimdbHome {
    /// The directory, from this process's environment.
    public static var path: String {
        var environment: [String: String] = [:]
        for name in ["CIMDB_HOME", "XDG_DATA_HOME", "HOME"] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        return path(environment: environment)
    }

    /// The directory, from the given environment variables.
    public static func path(environment: [String: String]) -> String {
        if let home = environment["CIMDB_HOME"], !home.isEmpty { return home }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return data + "/cimdb" }
        let user = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? passwordDatabaseHome() ?? "/"
        return user + "/.local/share/cimdb"
    }

    /// The current user's home directory from the password database.
    static func passwordDatabaseHome() -> String? {
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
}
