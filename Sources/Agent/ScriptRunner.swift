import Foundation
import Subprocess

#if canImport(Glibc)
    import Glibc
    import SystemPackage
#endif

/// How one script run ended.
struct ScriptRun: Sendable {
    enum Ending: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
        case timedOut
        case outputTooLarge
        case couldNotStart(String)
    }

    var ending: Ending
    /// Standard output, byte-exact (up to the cap).
    var output: [UInt8]
    /// The last bytes of standard error.
    var standardError: [UInt8]
    var duration: Duration

    var succeeded: Bool { ending == .exited(0) }

    var exitCode: Int32? { if case .exited(let code) = ending { code } else { nil } }

    /// Why it failed, for people (nil when it succeeded).
    func failure(timeout: Duration, cap: Int) -> String? {
        switch ending {
        case .exited(0): nil
        case .exited(let code): "exit code \(code)"
        case .signaled(let signal): "ended by signal \(signal)"
        case .timedOut: "killed after the \(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000) ms timeout"
        case .outputTooLarge: "killed: standard output over \(cap) bytes"
        case .couldNotStart(let reason): "could not start: \(reason)"
        }
    }
}

/// Runs node-side scripts (swift-subprocess, see PLATFORM.md): each in a process group of its
/// own, killed as a whole at its timeout or when its output passes the cap; the group is
/// killed again after the run so that nothing a script left in the background survives it.
struct ScriptRunner: Sendable {
    /// Bytes of standard output kept at most; a script printing more fails.
    var maximumOutputBytes: Int
    /// Bytes of standard error kept (the last ones).
    var standardErrorBytes = 16 * 1024
    /// Where running groups are recorded (the daemon's state directory), so that the next start
    /// kills what a killed agent left running.
    var groups: ProcessGroups?

    init(maximumOutputBytes: Int, groups: ProcessGroups? = nil) {
        self.maximumOutputBytes = maximumOutputBytes
        self.groups = groups
    }

    /// Runs a script; `label` names the run in `groups` ("discovery default, settings X").
    func run(_ path: String, environment: [String: String], timeout: Duration, label: String = "a script") async -> ScriptRun {
        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .milliseconds(500))]
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
        let start = ContinuousClock.now
        let cap = maximumOutputBytes
        let errorBytes = standardErrorBytes
        let groups = groups
        do {
            let result = try await Subprocess.run(
                .path(.init(path)), environment: .inherit.updating(updates), platformOptions: options,
                input: .none, output: .sequence, error: .sequence
            ) { execution in
                let group = execution.processIdentifier.value
                await groups?.started(group, running: label)
                defer { kill(-group, SIGKILL) }
                let captured: ([UInt8], [UInt8], ScriptRun.Ending?)
                do {
                    captured = try await withThrowingTaskGroup(of: Captured.self) { tasks in
                        tasks.addTask { try await Self.head(of: execution.standardOutput, cap: cap) }
                        tasks.addTask { .error(try await Self.tail(of: execution.standardError, keep: errorBytes)) }
                        tasks.addTask {
                            try await Task.sleep(for: timeout)
                            return .timedOut
                        }
                        var output: [UInt8] = [], errors: [UInt8] = [], finished = 0
                        var ending: ScriptRun.Ending?
                        while finished < 2, let captured = try await tasks.next() {
                            switch captured {
                            case .output(let bytes): output = bytes; finished += 1
                            case .error(let bytes): errors = bytes; finished += 1
                            case .overflow(let bytes):
                                output = bytes
                                ending = .outputTooLarge
                                kill(-group, SIGKILL)
                                finished += 1
                            case .timedOut:
                                ending = .timedOut
                                kill(-group, SIGKILL)
                                finished = 2
                            }
                        }
                        tasks.cancelAll()
                        return (output, errors, ending)
                    }
                } catch {
                    kill(-group, SIGKILL)
                    await groups?.finished(group)
                    throw error
                }
                // The group is gone (killed, and reaped by the kernel once the leader exits): forget it.
                kill(-group, SIGKILL)
                await groups?.finished(group)
                return captured
            }
            let (output, errors, forced) = result.closureResult
            let ending: ScriptRun.Ending =
                forced
                ?? {
                    switch result.terminationStatus {
                    case .exited(let code): .exited(code)
                    case .signaled(let signal): .signaled(signal)
                    }
                }()
            return ScriptRun(ending: ending, output: output, standardError: errors, duration: .now - start)
        } catch {
            return ScriptRun(ending: .couldNotStart("\(error)"), output: [], standardError: [], duration: .now - start)
        }
    }

    private enum Captured: Sendable {
        case output([UInt8])
        case overflow([UInt8])
        case error([UInt8])
        case timedOut
    }

    private static func head(of stream: SubprocessOutputSequence, cap: Int) async throws -> Captured {
        var kept: [UInt8] = []
        for try await buffer in stream {
            buffer.withUnsafeBytes { kept.append(contentsOf: $0) }
            if kept.count > cap { return .overflow(Array(kept.prefix(cap))) }
        }
        return .output(kept)
    }

    private static func tail(of stream: SubprocessOutputSequence, keep: Int) async throws -> [UInt8] {
        var kept: [UInt8] = []
        for try await buffer in stream {
            buffer.withUnsafeBytes { kept.append(contentsOf: $0) }
            if kept.count > 2 * keep { kept.removeFirst(kept.count - keep) }
        }
        if kept.count > keep { kept.removeFirst(kept.count - keep) }
        return kept
    }
}
