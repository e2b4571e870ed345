import CLibPQ
public import SQLCore

/// A batch of rows as libpq received them, read in place: no Swift string per value. Valid only
/// inside the closure it is handed to.
public struct RawRows {
    let result: OpaquePointer
    /// Rows in the batch.
    public let count: Int
    public let columnCount: Int

    init(_ result: OpaquePointer) {
        self.result = result
        count = Int(PQntuples(result))
        columnCount = Int(PQnfields(result))
    }

    /// The text of a value (PostgreSQL's text format, UTF-8), `nil` for `NULL`.
    @inline(__always)
    public func bytes(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer? {
        if PQgetisnull(result, Int32(row), Int32(column)) != 0 { return nil }
        return UnsafeRawBufferPointer(
            start: PQgetvalue(result, Int32(row), Int32(column)),
            count: Int(PQgetlength(result, Int32(row), Int32(column))))
    }

    /// The value as a string, `nil` for `NULL`.
    public func string(_ row: Int, _ column: Int) -> String? {
        bytes(row, column).map { String(decoding: $0, as: UTF8.self) }
    }
}

extension Connection {
    /// Runs one query and hands its rows to `body` as libpq holds them (no copy into Swift
    /// strings): for readers of many values, such as the CIM-XML export.
    public func withRawRows<T>(_ statement: SQL, _ body: (RawRows) throws -> T) throws -> T {
        let handle = try openHandle()
        try Self.checkValues(statement)
        let values = statement.values
        let result = CStringArray.with(values.map(\.text)) { pointers in
            PQexecParams(handle, statement.text, Int32(values.count), nil, pointers, nil, nil, 0)
        }
        let rows = try tuples(result, handle)
        defer { PQclear(rows) }
        return try body(RawRows(rows))
    }

    /// Reads a query's rows through a cursor, `batchSize` at a time, and hands each batch to
    /// `body` while the server already produces the next one: the next FETCH is sent before
    /// `body` runs, and `body` calls `keepReading` every so often so libpq drains the socket
    /// and the server is not held up by a full one. Server and client work side by side (on
    /// two cores, reading the inventory costs the export almost nothing).
    ///
    /// Runs inside the caller's transaction (a cursor lives in one); memory is bounded by two
    /// batches.
    public func streamRows(_ query: SQL, batchSize: Int, _ body: (RawRows, _ keepReading: () -> Void) throws -> Void) throws {
        precondition(batchSize > 0)
        let handle = try openHandle()
        try execute("DECLARE cimdb_stream NO SCROLL CURSOR FOR \(query)")
        let fetch = "FETCH \(batchSize) FROM cimdb_stream"
        guard PQsendQuery(handle, fetch) == 1 else { throw PostgresError(connection: handle, kind: .query) }
        var pending = true
        defer {
            // A failed body leaves a FETCH in flight: its result is read and dropped so the
            // connection can run the CLOSE (or the caller's ROLLBACK).
            if pending { while let extra = PQgetResult(handle) { PQclear(extra) } }
            _ = try? execute("CLOSE cimdb_stream")
        }
        let keepReading = { _ = PQconsumeInput(handle) }
        while pending {
            let result = try tuples(PQgetResult(handle), handle)
            defer { PQclear(result) }
            pending = false
            let rows = RawRows(result)
            if rows.count == 0 { break }
            if rows.count == batchSize {
                guard PQsendQuery(handle, fetch) == 1 else { throw PostgresError(connection: handle, kind: .query) }
                pending = true
            }
            try body(rows, keepReading)
        }
    }

    /// The one result of a statement that returns rows (further results, which a single
    /// statement does not have, are dropped); throws the server's error.
    private func tuples(_ result: OpaquePointer?, _ handle: OpaquePointer) throws(PostgresError) -> OpaquePointer {
        guard let result else {
            throw PostgresError(connection: handle, kind: PQstatus(handle) == CONNECTION_BAD ? .connection : .query)
        }
        while let extra = PQgetResult(handle) { PQclear(extra) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK else {
            defer { PQclear(result) }
            throw PostgresError(result: result, connection: handle, kind: .query)
        }
        return result
    }
}
