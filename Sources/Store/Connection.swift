import CLibPQ
public import SQLCore

/// One libpq connection. Not `Sendable`: use it from one thread at a time, and keep its
/// blocking calls off Swift's cooperative thread pool (``ConnectionPool`` does both).
///
/// Values reach the server only as bind parameters (``execute(_:_:)``); results come back in
/// text format and are copied into ``QueryResult``.
public final class Connection {
    /// The `PGconn*`; `nil` once closed.
    var handle: OpaquePointer?
    /// How deep ``transaction(_:)`` calls are nested (savepoints below the outermost).
    var transactionDepth = 0
    /// What the notice receiver saw (a FATAL that arrived while idle).
    let notices = ServerNotices()

    /// Connects with a libpq connection string (`host=… dbname=…`) or URI
    /// (`postgresql://user@/db?host=/socket/dir`); `""` takes libpq's defaults and the `PG*`
    /// environment variables. The client encoding is always UTF-8.
    public init(_ conninfo: String) throws(PostgresError) {
        let keywords = ["dbname", "client_encoding", "fallback_application_name"]
        let values = [conninfo, "UTF8", "cimdb"]
        let connection = CStringArray.with(keywords) { keywordPointers in
            CStringArray.with(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(kind: .connection, message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let error = PostgresError(connection: connection, kind: .connection)
            PQfinish(connection)
            throw error
        }
        handle = connection
        notices.install(on: connection)
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Closes the connection; later calls fail with a ``PostgresError/Kind/connection`` error.
    /// Closing twice is harmless.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// The server's version as a number, e.g. `150018` for 15.18; 0 when closed.
    public var serverVersion: Int {
        handle.map { Int(PQserverVersion($0)) } ?? 0
    }

    /// The process ID of the server backend serving this connection (for `pg_terminate_backend`,
    /// `pg_stat_activity`); 0 when closed.
    public var backendProcessID: Int32 {
        handle.map { PQbackendPID($0) } ?? 0
    }

    /// Whether the connection is open and libpq considers it healthy.
    public var isOpen: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Whether a transaction is open (idle in it, or failed and awaiting `ROLLBACK`).
    public var isInTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// The open `PGconn*`, or a connection error when closed.
    func openHandle() throws(PostgresError) -> OpaquePointer {
        guard let handle else {
            throw PostgresError(kind: .connection, message: "the connection is closed")
        }
        return handle
    }
}

@available(*, unavailable, message: "a Connection is used by one thread at a time; share a ConnectionPool instead")
extension Connection: Sendable {}
