import CLibPQ
import Dispatch
import SQLCore

/// One connection of a ``ConnectionPool`` and the serial queue it lives on.
///
/// `@unchecked Sendable`: `connection` and `closed` are touched only by jobs on `queue`, which
/// runs one at a time; the pool's state hands each slot to one caller at a time.
final class PoolSlot: @unchecked Sendable {
    struct Setting: Sendable {
        var name: String
        var value: String
    }

    let queue: DispatchQueue
    let conninfo: String
    let settings: [Setting]
    private var connection: Connection?
    private var closed = false

    init(label: String, conninfo: String, settings: [Setting] = []) {
        queue = DispatchQueue(label: label)
        self.conninfo = conninfo
        self.settings = settings
    }

    /// Runs `body` with a healthy connection. On `queue` only.
    func run<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try healthyConnection()
        defer { tidy(connection) }
        return try body(connection)
    }

    /// Closes the connection for good. On `queue` only.
    func shutDown() {
        closed = true
        connection?.close()
        connection = nil
    }

    /// The open connection, replaced first when it is missing or broken.
    private func healthyConnection() throws(PostgresError) -> Connection {
        if closed { throw ConnectionPool.closedError }
        if let connection, connection.isHealthy() { return connection }
        connection?.close()
        connection = nil
        let fresh = try Connection(conninfo)
        for setting in settings {
            try fresh.execute("SELECT set_config(\(setting.name), \(setting.value), false)")
        }
        connection = fresh
        return fresh
    }

    /// After a call: drop a broken connection, roll back a transaction left open.
    private func tidy(_ connection: Connection) {
        if connection.isOpen, connection.isInTransaction {
            _ = try? connection.execute("ROLLBACK")
        }
        if !connection.isOpen || connection.isInTransaction {
            connection.close()
            self.connection = nil
        }
    }
}

extension Connection {
    /// Whether the connection is usable, checked without a round trip: an idle connection's
    /// socket has nothing to read unless the server sent something — a notification, or the
    /// error and end-of-file of a terminated backend, which `PQconsumeInput` then detects.
    func isHealthy() -> Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return false }
        guard PQtransactionStatus(handle) == PQTRANS_IDLE else { return false }
        // Reading the terminated backend's error and reading the end of the stream can take
        // one call each: read while the socket stays readable (a closed one always is).
        do {
            for _ in 0..<4 {
                guard try waitReadable(handle, milliseconds: 0) else { break }
                try consumeInput(handle)
                // PQconsumeInput only buffers; PQisBusy parses, handing an idle-time FATAL to
                // the notice receiver (ServerNotices).
                _ = PQisBusy(handle)
            }
        } catch {
            return false
        }
        return PQstatus(handle) == CONNECTION_OK && !notices.sessionTerminated
    }
}
