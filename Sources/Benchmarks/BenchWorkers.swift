import Foundation
import Store
import Synchronization

// timespec: a release build takes its definition from the C module Dispatch is built on
// (CDispatch), and MemberImportVisibility refuses it without this import.
#if canImport(CDispatch)
    import CDispatch
#endif

/// A connection handed to one worker thread of a benchmark. libpq connections are not
/// Sendable; each of these is used by exactly one thread at a time (the worker it belongs to
/// while a phase runs, the main thread between phases), which is what makes the box sound.
final class WorkerConnection: @unchecked Sendable {
    let connection: Connection
    init(_ connection: Connection) { self.connection = connection }
}

/// Runs `work` over `items` on one thread per connection (libpq calls block, so they get
/// threads of their own rather than the cooperative pool). Items are taken in order from a
/// shared counter; returns the wall-clock time and the CPU time the worker threads used (the
/// client's share; the rest is the server's or waiting), or rethrows the first error any
/// worker hit.
func runInParallel<Item: Sendable>(
    _ items: [Item], on workers: [WorkerConnection], _ work: @escaping @Sendable (Connection, Item) throws -> Void
) throws -> (wall: Duration, cpu: Duration) {
    let shared = SharedState()
    let done = DispatchSemaphore(value: 0)
    let start = ContinuousClock.now
    for worker in workers {
        let thread = Thread {
            let cpuStart = threadCPUTime()
            defer { shared.cpu.withLock { $0 += threadCPUTime() - cpuStart } }
            while shared.failure.withLock({ $0 == nil }) {
                let index = shared.next.add(1, ordering: .relaxed).oldValue
                guard index < items.count else { break }
                do {
                    try work(worker.connection, items[index])
                } catch {
                    shared.failure.withLock { if $0 == nil { $0 = error } }
                }
            }
            done.signal()
        }
        thread.stackSize = 4 << 20
        thread.start()
    }
    for _ in workers { done.wait() }
    let elapsed = ContinuousClock.now - start
    if let error = shared.failure.withLock({ $0 }) { throw error }
    return (elapsed, shared.cpu.withLock { $0 })
}

/// The CPU time the calling thread has used.
func threadCPUTime() -> Duration {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return .seconds(t.tv_sec) + .nanoseconds(t.tv_nsec)
}

/// The workers' next item and first error (Atomic and Mutex are not copyable: threads reach
/// them through this object).
private final class SharedState: Sendable {
    let next = Atomic<Int>(0)
    let failure = Mutex<(any Error)?>(nil)
    let cpu = Mutex<Duration>(.zero)
}
