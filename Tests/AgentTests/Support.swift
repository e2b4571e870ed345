import Foundation
import Store
import StoreTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// The built `cimdb` executable next to the test bundle.
let cimdbPath: String = {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<3 {
        let candidate = directory.appendingPathComponent("cimdb").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return repositoryRoot.appendingPathComponent(".build/debug/cimdb").path
}()

/// A real child process (a server, an agent), started with posix_spawn: a clean signal mask
/// and default dispositions (so SIGTERM works), its own process group, stdout and stderr
/// appended to a log file. Killed when released.
final class Spawned: @unchecked Sendable {
    // @unchecked: pid is immutable; `exited` is read and written under the lock.
    let pid: pid_t
    let log: String
    private let lock = NSLock()
    private var status: Int32?

    init(_ arguments: [String], executable: String = cimdbPath, environment: [String: String] = [:], log: String) throws {
        self.log = log
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0)=\($1)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw TestFailure("cannot start \(executable) \(arguments.joined(separator: " ")): errno \(result)") }
        self.pid = pid
    }

    deinit { stop(signal: SIGKILL) }

    /// Sends `signal` to the process group and waits for the process to end; kills the group
    /// when it does not end within `timeout`.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(20)) -> Int32? {
        if let ended = lock.withLock({ status }) { return ended }
        kill(-pid, signal)
        let ended = wait(timeout: timeout)
        kill(-pid, SIGKILL)
        return ended
    }

    /// Waits up to `timeout` for the process to end; its raw wait status, or nil while it runs.
    func wait(timeout: Duration = .zero) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        repeat {
            if let status = lock.withLock({ status }) { return status }
            var raw: Int32 = 0
            let waited = waitpid(pid, &raw, WNOHANG)
            if waited == pid || (waited == -1 && errno == ECHILD) {
                lock.withLock { status = raw }
                return raw
            }
            usleep(20_000)
        } while ContinuousClock.now < deadline
        return nil
    }

    /// Records the status of a process reaped by someone else.
    func exited(_ raw: Int32) { lock.withLock { status = raw } }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `cimdb` to completion; returns its status and output.
func cimdb(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
    try await run(cimdbPath, arguments, environment: environment)
}

/// Runs a program to completion (waited for on a Dispatch thread); returns its status and its
/// standard output and error, interleaved.
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("cimdb-run-\(UUID().uuidString).log").path
    defer { try? FileManager.default.removeItem(atPath: log) }
    let process = try Spawned(arguments, executable: executable, environment: environment, log: log)
    let status = await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            var raw: Int32 = 0
            waitpid(process.pid, &raw, 0)
            process.exited(raw)
            continuation.resume(returning: raw)
        }
    }
    return ((status >> 8) & 0xFF, process.output)
}

/// A TCP port nobody listens on right now.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestFailure("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits until `condition` holds, checking every 200 ms; fails with `what` after `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(200))
    }
    throw TestFailure("timed out after \(timeout) waiting for: \(what)")
}

func temporaryDirectory(_ label: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("cimdb-\(label)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
