import Foundation
import Inventory

/// `GET /v1/tasks`: an agent's long poll for task work. The server answers as soon as it hands
/// this node something (runs, kills), or after `maximumWaitSeconds` with nothing; the agent asks
/// again at once. Signed both ways, like every agent route: an agent runs nothing
/// it cannot authenticate.
public struct TaskWork: Sendable, Hashable, Codable {
    public var runs: [TaskRun]
    /// Targets (of this node) whose process groups are to be killed.
    public var kills: [TaskTargetID]

    public init(runs: [TaskRun] = [], kills: [TaskTargetID] = []) {
        self.runs = runs
        self.kills = kills
    }

    /// How long a server holds a poll without work: a fleet of 10,000 idle agents asks 200
    /// times a second. The agent waits for the answer up to `pollTimeoutSeconds` (its other
    /// requests: 10 s to the first byte).
    public static let maximumWaitSeconds = 50
    public static let pollTimeoutSeconds = 60
}

/// One target of a task, as agents and servers name it.
public struct TaskTargetID: Sendable, Hashable, Codable, CustomStringConvertible {
    public var task: Int64
    public var node: String

    public init(task: Int64, node: String) {
        self.task = task
        self.node = node
    }

    public var description: String { "task \(task) on \(node)" }
}

/// What the agent runs for one target: an argv (parameters already substituted into its
/// elements, each element one argument) or a shell line (parameters only in the environment),
/// after copying the files into the run's working directory.
public struct TaskRun: Sendable, Hashable, Codable {
    public struct File: Sendable, Hashable, Codable {
        /// A plain file name in the run's directory (checked: never a path).
        public var destination: String
        public var content: [UInt8]

        public init(destination: String, content: [UInt8]) {
            self.destination = destination
            self.content = content
        }

        enum CodingKeys: String, CodingKey { case destination, content }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            destination = try c.decode(String.self, forKey: .destination)
            let text = try c.decode(String.self, forKey: .content)
            guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
                throw DecodingError.dataCorruptedError(forKey: .content, in: c, debugDescription: "file content is not base64")
            }
            content = [UInt8](data)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(destination, forKey: .destination)
            try c.encode(Data(content).base64EncodedString(), forKey: .content)
        }
    }

    public var target: TaskTargetID
    public var tool: String
    public var argv: [String]?
    public var shell: String?
    /// CIMDB_ARG_* from the parameters; the agent adds CIMDB_NODE, CIMDB_TASK, CIMDB_TARGETS.
    public var environment: [String: String]
    /// The task's targets (a multi-system tool gets them in CIMDB_TARGETS, one per line).
    public var targets: [String]
    public var files: [File]
    public var timeoutMilliseconds: Int64
    /// Bytes kept of each stream at most (head and tail).
    public var outputCap: Int

    public init(
        target: TaskTargetID, tool: String, argv: [String]?, shell: String?, environment: [String: String], targets: [String],
        files: [File], timeoutMilliseconds: Int64, outputCap: Int
    ) {
        self.target = target
        self.tool = tool
        self.argv = argv
        self.shell = shell
        self.environment = environment
        self.targets = targets
        self.files = files
        self.timeoutMilliseconds = timeoutMilliseconds
        self.outputCap = outputCap
    }

    /// What is wrong with the run as sent (the agent refuses it), or nil.
    public var problem: String? {
        if (argv == nil) == (shell == nil) { return "exactly one of argv and shell is needed" }
        if let argv, argv.isEmpty { return "the argv is empty" }
        if timeoutMilliseconds <= 0 { return "the timeout is not positive" }
        if outputCap < 0 { return "the output cap is negative" }
        for file in files {
            if let problem = FileName.problem(file.destination) { return "file destination \(problem)" }
        }
        for key in environment.keys where !key.hasPrefix("CIMDB_ARG_") {
            return "environment variable \(key) is not a parameter (CIMDB_ARG_*)"
        }
        return nil
    }
}

/// The agent runner's states (SPEC §6), and what it reports besides: COMPLETE (the command
/// exited 0) and REFUSED (at capacity: the facility retries about every second).
public enum RunnerState: String, Sendable, Hashable, Codable, CaseIterable {
    case pending = "PENDING", copying = "COPYING", running = "RUNNING", failed = "FAILED", cancelled = "CANCELLED", killed = "KILLED"
    case complete = "COMPLETE", refused = "REFUSED"

    public var isFinal: Bool { [.failed, .cancelled, .killed, .complete].contains(self) }
}

/// Why a target failed (`cimdb.task_target.failure_cause`).
public enum FailureCause: String, Sendable, Hashable, Codable, CaseIterable {
    case exitStatus = "exit status", timeout, copyFailed = "copy failed", agentUnreachable = "agent unreachable"
    case agentRestarted = "agent restarted", refusedByAgent = "refused by agent", signatureRefused = "signature refused"
    case couldNotStart = "could not start", killedBySignal = "killed by signal"
}

/// A stream as kept: at most the cap, as its head and tail around a mark, with the total size.
public struct CappedOutput: Sendable, Hashable, Codable {
    public var kept: [UInt8]
    public var totalBytes: Int64
    public var truncated: Bool

    public init(kept: [UInt8], totalBytes: Int64, truncated: Bool) {
        self.kept = kept
        self.totalBytes = totalBytes
        self.truncated = truncated
    }

    enum CodingKeys: String, CodingKey { case kept, totalBytes, truncated }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard let data = Data(base64Encoded: try c.decode(String.self, forKey: .kept)) else {
            throw DecodingError.dataCorruptedError(forKey: .kept, in: c, debugDescription: "output is not base64")
        }
        kept = [UInt8](data)
        totalBytes = try c.decode(Int64.self, forKey: .totalBytes)
        truncated = try c.decode(Bool.self, forKey: .truncated)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Data(kept).base64EncodedString(), forKey: .kept)
        try c.encode(totalBytes, forKey: .totalBytes)
        try c.encode(truncated, forKey: .truncated)
    }
}

/// Keeps the head and the tail of a stream within `cap` bytes, counting the whole.
public struct OutputKeeper: Sendable {
    public let cap: Int
    private var head: [UInt8] = []
    private var tail: [UInt8] = []
    private var total: Int64 = 0

    public init(cap: Int) { self.cap = max(cap, 0) }

    public static func mark(omitted: Int64) -> [UInt8] { Array("\n[… \(omitted) bytes omitted …]\n".utf8) }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        total += Int64(bytes.count)
        let headRoom = cap / 2 - head.count
        var rest = bytes[...]
        if headRoom > 0 {
            head.append(contentsOf: rest.prefix(headRoom))
            rest = rest.dropFirst(headRoom)
        }
        guard !rest.isEmpty else { return }
        tail.append(contentsOf: rest)
        let keep = cap - cap / 2
        if tail.count > 2 * keep + 4096 { tail.removeFirst(tail.count - keep) }
    }

    public var output: CappedOutput {
        let keep = cap - cap / 2
        let kept = Int64(head.count + min(tail.count, keep))
        if kept >= total { return CappedOutput(kept: head + tail, totalBytes: total, truncated: false) }
        return CappedOutput(kept: head + Self.mark(omitted: total - kept) + tail.suffix(keep), totalBytes: total, truncated: true)
    }
}

/// `POST /v1/tasks/report`: a runner state of one target, with, when it is final, the exit code,
/// both streams, the bytes copied and the times. Sent until a server acknowledges it.
public struct TaskReport: Sendable, Hashable, Codable {
    public var target: TaskTargetID
    public var state: RunnerState
    public var cause: FailureCause?
    public var detail: String?
    public var exitCode: Int32?
    public var stdout: CappedOutput?
    public var stderr: CappedOutput?
    public var bytesCopied: Int64?
    /// Milliseconds since 1970 on the agent's clock.
    public var startedMilliseconds: Int64?
    public var finishedMilliseconds: Int64?

    public init(
        target: TaskTargetID, state: RunnerState, cause: FailureCause? = nil, detail: String? = nil, exitCode: Int32? = nil,
        stdout: CappedOutput? = nil, stderr: CappedOutput? = nil, bytesCopied: Int64? = nil, startedMilliseconds: Int64? = nil,
        finishedMilliseconds: Int64? = nil
    ) {
        self.target = target
        self.state = state
        self.cause = cause
        self.detail = detail
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.bytesCopied = bytesCopied
        self.startedMilliseconds = startedMilliseconds
        self.finishedMilliseconds = finishedMilliseconds
    }
}

/// The answer to a report: the target's state in the database afterwards. An agent running a
/// target the database has ended (cancelled meanwhile) kills it.
public struct TaskReportAnswer: Sendable, Hashable, Codable {
    public var state: String
    public init(state: String) { self.state = state }
}
