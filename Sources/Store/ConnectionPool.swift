import Dispatch
import SQLCore
import Synchronization

/// A fixed number of connections, safe to share across tasks under Swift 6 strict concurrency.
///
/// Each connection lives on its own serial `DispatchQueue`: libpq blocks, and Swift's
/// cooperative thread pool (two threads on a two-core machine) must not. Connections open
/// lazily; one found broken (the server restarted, `pg_terminate_backend`) is replaced before
/// it is handed out, and one that broke during a call is replaced on the next.
///
///     let pool = ConnectionPool(conninfo: cluster.connectionString())
///     let count = try await pool.withConnection { try $0.execute("select count(*) from t")[0].int(0) }
public final class ConnectionPool: Sendable {
    /// The connection string every connection uses.
    public let conninfo: String
    /// How many connections the pool holds at most.
    public let size: Int
    private let slots: [PoolSlot]
    private let state: Mutex<PoolState>

    /// A pool of `size` connections to `conninfo` (see ``Connection/init(_:)``). Nothing
    /// connects until the first ``withConnection(_:)``. Each new connection first applies
    /// `settings` (`set_config(name, value, false)`, values bound), e.g.
    /// `[("idle_in_transaction_session_timeout", "10s")]`.
    public init(conninfo: String, size: Int = 4, settings: [(name: String, value: String)] = []) {
        precondition(size > 0, "a pool needs at least one connection")
        self.conninfo = conninfo
        self.size = size
        let settings = settings.map { PoolSlot.Setting(name: $0.name, value: $0.value) }
        slots = (0..<size).map { PoolSlot(label: "cimdb.store.connection.\($0)", conninfo: conninfo, settings: settings) }
        state = Mutex(PoolState(free: Array((0..<size).reversed())))
    }

    /// Runs `body` with a connection of its own, on that connection's thread, once one is free
    /// (callers wait in arrival order). A transaction `body` left open is rolled back.
    ///
    /// Throws what `body` throws, a ``PostgresError`` when no connection can be opened, or
    /// `CancellationError` when the task is cancelled while waiting.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let index = try await acquire()
        defer { release(index) }
        let slot = slots[index]
        return try await withCheckedThrowingContinuation { continuation in
            slot.queue.async {
                continuation.resume(with: Result { try slot.run(body) })
            }
        }
    }

    /// Closes every connection, after the calls under way finish; waiting and later calls fail
    /// with a ``PostgresError/Kind/connection`` error.
    public func close() async {
        let waiters = state.withLock { state in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(throwing: Self.closedError) }
        for slot in slots {
            await withCheckedContinuation { continuation in
                slot.queue.async {
                    slot.shutDown()
                    continuation.resume()
                }
            }
        }
    }

    static let closedError = PostgresError(kind: .connection, message: "the connection pool is closed")

    private func acquire() async throws -> Int {
        let id = state.withLock { state in state.makeWaiterID() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                let immediate: Result<Int, any Error>? = state.withLock { state in
                    if state.closed { return .failure(Self.closedError) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let index = state.free.popLast() { return .success(index) }
                    state.waiters.append(PoolState.Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in state.removeWaiter(id: id) }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    private func release(_ index: Int) {
        let next = state.withLock { state in
            if state.waiters.isEmpty {
                state.free.append(index)
                return nil as PoolState.Waiter?
            }
            return state.waiters.removeFirst()
        }
        next?.continuation.resume(returning: index)
    }
}

/// Which connections are free and who waits for one.
struct PoolState: Sendable {
    struct Waiter: Sendable {
        var id: UInt64
        var continuation: CheckedContinuation<Int, any Error>
    }

    var free: [Int]
    var waiters: [Waiter] = []
    var closed = false
    private var lastWaiterID: UInt64 = 0

    init(free: [Int]) {
        self.free = free
    }

    mutating func makeWaiterID() -> UInt64 {
        lastWaiterID += 1
        return lastWaiterID
    }

    mutating func removeWaiter(id: UInt64) -> Waiter? {
        guard let position = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return waiters.remove(at: position)
    }
}
