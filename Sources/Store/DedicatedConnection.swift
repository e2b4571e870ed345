import Dispatch
import SQLCore

/// One connection with a serial queue (and so a thread at a time) of its own, for async code
/// that keeps a connection for long: subscription delivery, `cimdb up`'s wait for the first
/// inventory, a command's session. libpq blocks; calls through ``run(_:)`` never block Swift's
/// cooperative pool, and they run one after another, in order, on the same connection.
///
/// The connection opens at the first call; one found broken is replaced before the next call
/// (as in ``ConnectionPool``, of which this is the one-connection case without the waiting line).
///
///     let session = DedicatedConnection(conninfo: info, label: "cimdb.subscriptions")
///     let due = try await session.run { try $0.execute("SELECT count(*) AS n FROM cimdb.subscription")[0].int64("n") }
///     await session.close()
public final class DedicatedConnection: Sendable {
    private let slot: PoolSlot

    public init(conninfo: String, label: String) {
        slot = PoolSlot(label: label, conninfo: conninfo)
    }

    /// Runs `body` with the connection on its queue. A transaction `body` left open is rolled back.
    @discardableResult
    public func run<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let slot = self.slot
        return try await withCheckedThrowingContinuation { continuation in
            slot.queue.async { continuation.resume(with: Result { try slot.run(body) }) }
        }
    }

    /// Closes the connection after the call under way; later calls fail.
    public func close() async {
        let slot = self.slot
        await withCheckedContinuation { continuation in
            slot.queue.async {
                slot.shutDown()
                continuation.resume()
            }
        }
    }
}
