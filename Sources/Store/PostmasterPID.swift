#if canImport(Glibc)
    import SQLCore
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The lock file a running postmaster keeps in its data directory (`postmaster.pid`): process
/// ID, data directory, start time, port, socket directory, listen address, shared memory key,
/// status — one a line.
struct PostmasterPID: Sendable, Hashable {
    var pid: Int32
    var port: Int?
    var socketDirectory: String?
    /// The first `listen_addresses` entry; empty for unix-socket only.
    var listenAddress: String?
    /// `starting`, `ready`, `stopping` or `standby` once the postmaster wrote it.
    var state: String?

    /// Parses the file's text; `nil` when its first line is not a process ID.
    init?(text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingPrefixAndSuffixSpaces()
        }
        guard let first = lines.first, let pid = Int32(first), pid > 0 else { return nil }
        self.pid = pid
        port = lines.count > 3 ? Int(lines[3]) : nil
        socketDirectory = lines.count > 4 && !lines[4].isEmpty ? lines[4] : nil
        listenAddress = lines.count > 5 ? lines[5] : nil
        state = lines.count > 7 && !lines[7].isEmpty ? lines[7] : nil
    }

    /// The lock file in `dataDirectory`, if present and readable.
    static func read(dataDirectory: String) -> PostmasterPID? {
        FileSystem.read(dataDirectory + "/postmaster.pid").flatMap(PostmasterPID.init(text:))
    }

    /// Whether the process is alive and is a PostgreSQL server (on Linux, by its command name:
    /// after a reboot the same number may belong to something else).
    var isRunning: Bool {
        guard Self.isAlive(pid) else { return false }
        guard let command = FileSystem.read("/proc/\(pid)/comm") else { return true }
        let name = command.trimmingPrefixAndSuffixSpaces()
        return name.hasPrefix("postgres") || name.hasPrefix("postmaster")
    }

    /// Whether process `pid` exists and has not exited (a zombie, exited but not yet reaped by
    /// its parent, counts as exited).
    static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = FileSystem.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].drop(while: { $0 == " " }).first
        return state != "Z" && state != "X"
    }

    /// Waits until process `pid` has exited, checking every 10 ms for at most `limit`; whether it did.
    static func waitForExit(_ pid: Int32, limit: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while isAlive(pid) {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// The TCP port when the server listens on an address, `nil` for unix-socket only.
    var tcpPort: Int? {
        guard let listenAddress, !listenAddress.isEmpty else { return nil }
        return port
    }
}

extension Substring {
    func trimmingPrefixAndSuffixSpaces() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

extension String {
    func trimmingPrefixAndSuffixSpaces() -> String {
        self[...].trimmingPrefixAndSuffixSpaces()
    }
}
