#if canImport(Glibc)
    import SQLCore
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Asks `pg_config --bindir` synchronously.
///
/// The one child process not started with swift-subprocess: ``PostgresBinaries/locate()`` is a
/// synchronous API and swift-subprocess is async only. `pg_config` is local, quick and reads
/// nothing; it is spawned with `posix_spawn`, a clean signal mask, default signal handlers,
/// standard input and error on `/dev/null`, and only its output pipe inherited.
enum PgConfig {
    /// The directory `pg_config --bindir` prints, or `nil` when it fails.
    static func bindir(_ pgConfig: String) -> String? {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { return nil }
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        defer { close(pipeEnds[0]) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let arguments = [pgConfig, "--bindir"]
        let spawned = CStringArray.with(arguments) { argv in
            posix_spawn(
                &pid, pgConfig, &actions, &attributes,
                UnsafeMutablePointer(mutating: argv).withMemoryRebound(
                    to: UnsafeMutablePointer<CChar>?.self, capacity: arguments.count + 1
                ) { $0 }, environ)
        }
        close(pipeEnds[1])
        guard spawned == 0 else { return nil }

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while output.count < 64 * 1024 {
            let count = chunk.withUnsafeMutableBytes { read(pipeEnds[0], $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            output.append(contentsOf: chunk[0..<count])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { return nil }
        let text = PostgresError.trimmed(String(decoding: output, as: UTF8.self))
        return text.hasPrefix("/") ? text : nil
    }
}
