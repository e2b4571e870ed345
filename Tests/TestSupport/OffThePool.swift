public import Foundation

/// Runs `body` on a thread of its own and awaits its result.
///
/// For the parts of a test that block: waiting on a child process, compiling the full DMTF
/// schema, a synchronous libpq call. Swift Testing runs tests on the cooperative pool, which
/// has one thread per core — two on CI — and a test blocking one of them stalls every other
/// suite; two such tests at once stall the run (in-process router tests once hit their 120 s
/// limit that way, having done nothing). A `Thread` rather than a Dispatch queue: Dispatch's
/// global queues are bounded too. The stack is 8 MB, the compiler's recursion on the schema's
/// deepest classes needs more than a secondary thread's default.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// What a child process printed, and how it ended.
public struct ProgramResult: Sendable {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
    /// Both streams, output first.
    public var output: String { standardOutput + standardError }
}

/// Runs `executable` to its end off the cooperative pool, reading both pipes to their ends
/// before waiting (a chatty child never blocks on a full pipe). `mergeStreams` sends standard
/// error to the same pipe as standard output, interleaved as written.
public func runProgram(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil,
    mergeStreams: Bool = false
) async throws -> ProgramResult {
    try await offThePool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe()
        let err = mergeStreams ? out : Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        nonisolated(unsafe) var errorData = Data()
        let errorRead = DispatchSemaphore(value: 0)
        Thread {
            if !mergeStreams { errorData = err.fileHandleForReading.readDataToEndOfFile() }
            errorRead.signal()
        }.start()
        let outputData = out.fileHandleForReading.readDataToEndOfFile()
        errorRead.wait()
        process.waitUntilExit()
        return ProgramResult(
            status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
            standardError: String(decoding: errorData, as: UTF8.self))
    }
}
