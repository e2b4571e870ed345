import SQLCore
import Store
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Stops the test cluster and removes its directory when the test process exits (`atexit`).
///
/// An exit hook cannot await, so it does what `pg_ctl stop -m fast` does: SIGINT to the
/// postmaster, then waits (bounded) until the process is gone.
enum ShutdownHook {
    private static let registered = Mutex<(dataDirectory: String, home: String)?>(nil)

    static func register(dataDirectory: String, home: String) {
        let first = registered.withLock { current in
            defer { current = (dataDirectory, home) }
            return current == nil
        }
        if first {
            atexit {
                guard let (dataDirectory, home) = ShutdownHook.registered.withLock({ $0 }) else { return }
                ShutdownHook.stopPostmaster(dataDirectory: dataDirectory)
                TemporaryDirectory.removeTree(home)
            }
        }
    }

    /// SIGINT (fast shutdown) to the postmaster of `dataDirectory`, then waits up to 10 s for it to exit.
    static func stopPostmaster(dataDirectory: String) {
        guard let text = TemporaryDirectory.readFile(dataDirectory + "/postmaster.pid"),
            let pid = Int32(text.split(separator: "\n").first ?? ""), pid > 0,
            kill(pid, SIGINT) == 0
        else { return }
        var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
        for _ in 0..<1000 {
            if kill(pid, 0) != 0 { return }
            nanosleep(&pause, nil)
        }
        kill(pid, SIGQUIT)
    }
}
