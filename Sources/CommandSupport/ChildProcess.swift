import Foundation
import Subprocess

#if canImport(Glibc)
    import Glibc
    import SystemPackage
#endif

/// A long-running child of `cimdb up` (a server, an agent): started with swift-subprocess in a
/// process group of its own, its output appended to a log file, stopped (SIGTERM, then SIGKILL
/// after five seconds) when the task running it is cancelled.
public enum ChildProcess {
    /// This executable, to start `cimdb server` and `cimdb agent` from `cimdb up`.
    public static var selfExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Runs until the child exits (returns its status) or the task is cancelled (stops it).
    public static func run(_ executable: String, _ arguments: [String], log: String, environment: [String: String] = [:]) async throws -> String {
        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(5))]
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
        guard FileManager.default.createFile(atPath: log, contents: nil), let file = FileHandle(forWritingAtPath: log) else {
            throw CommandFailure("cannot write the log \(log)")
        }
        defer { try? file.close() }
        let sink = LogSink(file)
        let result = try await Subprocess.run(
            .path(.init(executable)), arguments: Arguments(arguments), environment: .inherit.updating(updates),
            platformOptions: options, input: .none, output: .sequence, error: .sequence
        ) { execution in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { for try await chunk in execution.standardOutput { chunk.withUnsafeBytes { sink.write(Data($0)) } } }
                group.addTask { for try await chunk in execution.standardError { chunk.withUnsafeBytes { sink.write(Data($0)) } } }
                try await group.waitForAll()
            }
        }
        return switch result.terminationStatus {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "ended by signal \(signal)"
        }
    }

    /// Appends to a file from several tasks.
    final class LogSink: @unchecked Sendable {
        // @unchecked: every write goes through the lock.
        private let file: FileHandle
        private let lock = NSLock()
        init(_ file: FileHandle) { self.file = file }
        func write(_ data: Data) { lock.withLock { file.write(data) } }
    }
}
