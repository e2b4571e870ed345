import CLibPQ
public import SQLCore

extension Connection {
    /// Runs one statement, its values as bind parameters in text format (`PQexecParams`), and
    /// returns its rows and counts. Values never become part of the SQL text.
    ///
    /// Throws a ``PostgresError`` with the server's fields when the statement fails, and
    /// before sending anything when a value contains a NUL character (PostgreSQL text cannot
    /// hold one, and libpq would silently cut the value there).
    @discardableResult
    public func execute(_ statement: SQL) throws(PostgresError) -> QueryResult {
        let handle = try openHandle()
        try Self.checkValues(statement)
        let values = statement.values
        let result = CStringArray.with(values.map(\.text)) { pointers in
            PQexecParams(handle, statement.text, Int32(values.count), nil, pointers, nil, nil, 0)
        }
        return try consume(result, kind: .query)
    }

    /// Runs several statements separated by semicolons, without values (`PQexec`): for
    /// migrations and DDL. Unless the script has its own `BEGIN`/`COMMIT`, the server runs it as
    /// one implicit transaction: a failing statement undoes the ones before it.
    public func executeScript(_ script: SQL) throws(PostgresError) {
        let handle = try openHandle()
        try Self.checkNoValues(script, "a script of several statements")
        guard !script.text.utf8.contains(0) else {
            throw PostgresError(kind: .query, message: "the script contains a NUL character")
        }
        try consume(PQexec(handle, script.text), kind: .query)
    }

    static func checkValues(_ statement: SQL) throws(PostgresError) {
        for (index, value) in statement.values.enumerated() where value.text?.utf8.contains(0) == true {
            throw PostgresError(
                kind: .query,
                message: "parameter $\(index + 1) contains a NUL character, which PostgreSQL text cannot store")
        }
    }

    /// Statements that cannot take bind parameters (several statements at once, COPY).
    static func checkNoValues(_ statement: SQL, _ what: String) throws(PostgresError) {
        guard statement.values.isEmpty else {
            throw PostgresError(kind: .query, message: "\(what) cannot take bind parameters; got \(statement.values.count)")
        }
    }

    /// Turns a `PGresult*` into a ``QueryResult`` or an error, and frees it. A result that
    /// opened a COPY is ended first, so the connection stays usable.
    @discardableResult
    func consume(_ result: OpaquePointer?, kind: PostgresError.Kind) throws(PostgresError) -> QueryResult {
        let handle = try openHandle()
        guard let result else {
            throw PostgresError(connection: handle, kind: PQstatus(handle) == CONNECTION_BAD ? .connection : kind)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            return Self.queryResult(from: result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            abandonCopy(handle)
            throw PostgresError(
                kind: .protocolViolation,
                message: "the statement started a COPY; use copyIn(_:_:) for COPY FROM STDIN")
        default:
            throw PostgresError(result: result, connection: handle, kind: kind)
        }
    }

    /// Ends a COPY nobody asked for and drains its results.
    private func abandonCopy(_ handle: OpaquePointer) {
        _ = PQputCopyEnd(handle, "COPY is not supported through execute")
        var buffer: UnsafeMutablePointer<CChar>?
        while PQgetCopyData(handle, &buffer, 0) > 0 {
            PQfreemem(buffer)
            buffer = nil
        }
        while let extra = PQgetResult(handle) { PQclear(extra) }
    }

    /// Copies a successful result's values into Swift strings.
    static func queryResult(from result: OpaquePointer) -> QueryResult {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var columns: [String] = []
        columns.reserveCapacity(columnCount)
        for column in 0..<columnCount {
            columns.append(PQfname(result, Int32(column)).map { String(cString: $0) } ?? "?column?")
        }
        var values: [String?] = []
        values.reserveCapacity(rowCount * columnCount)
        for row in 0..<Int32(rowCount) {
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) != 0 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(result, row, column))
                    let bytes = UnsafeRawBufferPointer(start: PQgetvalue(result, row, column), count: length)
                    values.append(String(decoding: bytes, as: UTF8.self))
                }
            }
        }
        let tag = PQcmdStatus(result).map { String(cString: $0) } ?? ""
        let affected = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
        return QueryResult(columns: columns, values: values, affectedRows: affected, commandTag: tag)
    }
}
