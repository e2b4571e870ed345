import Dispatch

/// Runs blocking work — SQLite calls, file reads and writes — on a serial Dispatch queue, one
/// job after another, while the calling task waits on a continuation: the agent's tasks never
/// hold one of the cooperative pool's threads (two on these machines) for a disk write.
struct BlockingQueue: Sendable {
    private let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws(AgentError) -> T) async throws(AgentError) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, AgentError>, Never>) in
            queue.async { continuation.resume(returning: Result { () throws(AgentError) -> T in try body() }) }
        }
        return try result.get()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }
}
