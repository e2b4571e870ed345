import SQLCore
import Subprocess
import SystemPackage

/// What a finished child process left: its exit status and the tails of its output.
struct CommandOutput: Sendable {
    /// The exit code, or `128 + signal` when a signal ended it.
    var exitCode: Int32
    /// Standard output (its last ``Command/outputLimit`` bytes).
    var standardOutput: String
    /// Standard error (its last ``Command/outputLimit`` bytes).
    var standardError: String

    var succeeded: Bool { exitCode == 0 }

    /// Standard error, else standard output, trimmed: what a tool said about its failure.
    var diagnostics: String {
        let error = PostgresError.trimmed(standardError)
        return error.isEmpty ? PostgresError.trimmed(standardOutput) : error
    }
}

/// Runs child processes with swift-subprocess: output captured into capped buffers (a chatty
/// tool is never killed for talking too much), a time limit after which the child's whole
/// process group is killed, and the child in a process group of its own.
enum Command {
    /// Bytes of each output stream kept (the last ones).
    static let outputLimit = 64 * 1024

    /// Runs `executable` with `arguments` and waits for it, at most `timeout`.
    ///
    /// Throws a ``PostgresError/Kind/cluster`` error when it cannot be started or runs too
    /// long; a non-zero exit is a normal result (see ``CommandOutput/exitCode``).
    static func run(
        _ executable: String, _ arguments: [String], workingDirectory: String? = nil,
        environment: [String: String] = [:], user: ServerAccount? = nil,
        timeout: Duration = .seconds(120)
    ) async throws(PostgresError) -> CommandOutput {
        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(2))]
        if let user {
            options.userID = user.uid
            options.groupID = user.gid
            options.supplementaryGroups = []
        }
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
        let label = ([executable] + arguments).joined(separator: " ")
        do {
            let result = try await Subprocess.run(
                .path(.init(executable)), arguments: Arguments(arguments),
                environment: .inherit.updating(updates),
                workingDirectory: workingDirectory.map { .init($0) },
                platformOptions: options, input: .none, output: .sequence, error: .sequence
            ) { execution in
                try await withThrowingTaskGroup(of: Captured.self) { group in
                    group.addTask { .output(try await tail(of: execution.standardOutput)) }
                    group.addTask { .error(try await tail(of: execution.standardError)) }
                    group.addTask {
                        try await Task.sleep(for: timeout)
                        return .timedOut
                    }
                    var output = "", error = "", finished = 0
                    while finished < 2, let captured = try await group.next() {
                        switch captured {
                        case .output(let text): output = text; finished += 1
                        case .error(let text): error = text; finished += 1
                        case .timedOut:
                            try? execution.send(signal: .kill, toProcessGroup: true)
                            throw PostgresError(kind: .cluster, message: "`\(label)` did not finish within \(timeout); killed it")
                        }
                    }
                    group.cancelAll()
                    return (output, error)
                }
            }
            let code: Int32 =
                switch result.terminationStatus {
                case .exited(let code): code
                case .signaled(let signal): 128 + signal
                }
            return CommandOutput(exitCode: code, standardOutput: result.closureResult.0, standardError: result.closureResult.1)
        } catch let error as PostgresError {
            throw error
        } catch {
            throw PostgresError(kind: .cluster, message: "cannot run `\(label)`: \(error)")
        }
    }

    private enum Captured: Sendable {
        case output(String)
        case error(String)
        case timedOut
    }

    /// The last ``outputLimit`` bytes of a stream, read to its end.
    private static func tail(of stream: SubprocessOutputSequence) async throws -> String {
        var kept: [UInt8] = []
        for try await buffer in stream {
            buffer.withUnsafeBytes { kept.append(contentsOf: $0) }
            if kept.count > 2 * outputLimit { kept.removeFirst(kept.count - outputLimit) }
        }
        if kept.count > outputLimit { kept.removeFirst(kept.count - outputLimit) }
        return String(decoding: kept, as: UTF8.self)
    }
}
