import CLibPQ
public import SQLCore

extension Connection {
    /// Runs `COPY … FROM STDIN` (text format) and feeds it the rows `produce` appends; returns
    /// the number of rows the server copied. Data is sent in ~32 KB chunks while `produce`
    /// runs, so memory stays flat for any number of rows.
    ///
    /// A row the server rejects aborts the whole COPY: nothing is copied and the server's error
    /// (with its line in the COPY data, in ``PostgresError/message`` or its context) is thrown.
    /// When `produce` throws, the COPY is aborted and that error is rethrown.
    ///
    ///     try connection.copyIn("COPY items (id, name) FROM STDIN") { writer in
    ///         for item in items { writer.appendRow([String(item.id), item.name]) }
    ///     }
    @discardableResult
    public func copyIn(_ copyStatement: SQL, _ produce: (inout CopyInWriter) throws -> Void) throws -> Int {
        let handle = try openHandle()
        try Self.checkNoValues(copyStatement, "COPY")
        let start = PQexec(handle, copyStatement.text)
        guard let start, PQresultStatus(start) == PGRES_COPY_IN else {
            // A failed statement throws the server's error here; one that ran is the wrong statement.
            try consume(start, kind: .copy)
            throw PostgresError(kind: .copy, message: "the statement did not start COPY FROM STDIN: \(copyStatement.text)")
        }
        PQclear(start)

        var writer = CopyInWriter(connection: self)
        do {
            try produce(&writer)
        } catch {
            _ = PQputCopyEnd(handle, "aborted by the client: \(error)")
            drainResults(handle)
            throw error
        }
        writer.flush()
        if PQputCopyEnd(handle, nil) != 1, writer.failure == nil {
            writer.failure = PostgresError(connection: handle, kind: .copy)
        }
        return try finishCopy(handle, failure: writer.failure)
    }

    /// Runs `COPY … TO STDOUT` (any format) and returns the data, byte for byte: the rows of a
    /// table or query as COPY writes them, ready for a `COPY … FROM STDIN` elsewhere (see
    /// ``CopyInWriter/appendData(_:)``).
    public func copyOut(_ copyStatement: SQL) throws(PostgresError) -> [UInt8] {
        let handle = try openHandle()
        try Self.checkNoValues(copyStatement, "COPY")
        let start = PQexec(handle, copyStatement.text)
        guard let start, PQresultStatus(start) == PGRES_COPY_OUT else {
            try consume(start, kind: .copy)
            throw PostgresError(kind: .copy, message: "the statement did not start COPY TO STDOUT: \(copyStatement.text)")
        }
        PQclear(start)
        var data: [UInt8] = []
        var failure: PostgresError?
        while true {
            var row: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(handle, &row, 0)
            if length > 0, let row {
                row.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                    data.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(length)))
                }
                PQfreemem(row)
            } else {
                if length == -2 { failure = PostgresError(connection: handle, kind: .copy) }
                break  // -1: done; the outcome follows as a result
            }
        }
        var outcome: PostgresError? = failure
        while let result = PQgetResult(handle) {
            if outcome == nil, PQresultStatus(result) != PGRES_COMMAND_OK { outcome = PostgresError(result: result, connection: handle, kind: .copy) }
            PQclear(result)
        }
        if let outcome { throw outcome }
        return data
    }

    /// Sends one chunk of COPY data.
    func putCopyData(_ bytes: [UInt8]) throws(PostgresError) {
        let handle = try openHandle()
        let sent = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
        }
        if sent != 1 { throw PostgresError(connection: handle, kind: .copy) }
    }

    /// Reads the COPY's outcome: the server's error beats a client-side send failure, which
    /// usually only reflects that the server had already aborted.
    private func finishCopy(_ handle: OpaquePointer, failure: PostgresError?) throws(PostgresError) -> Int {
        var outcome: Result<Int, PostgresError> = failure.map { .failure($0) } ?? .success(0)
        var sawServerResult = false
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            if sawServerResult { continue }
            sawServerResult = true
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                let copied = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
                if failure == nil { outcome = .success(copied) }
            } else {
                outcome = .failure(PostgresError(result: result, connection: handle, kind: .copy))
            }
        }
        return try outcome.get()
    }

    private func drainResults(_ handle: OpaquePointer) {
        while let result = PQgetResult(handle) { PQclear(result) }
    }
}
