import CSQLite

/// A thin wrapper over the sqlite3 C API, for the agent's state file. Written here rather than
/// taken from GRDB because the agent needs five statements and a small footprint (PLATFORM.md:
/// the raw library builds in seconds and the agent's resident size is a goal).
final class SQLiteDatabase {
    private var handle: OpaquePointer?
    let path: String

    init(path: String) throws(AgentError) {
        self.path = path
        var db: OpaquePointer?
        let status = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw .state("\(path): \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
    }

    deinit { sqlite3_close(handle) }

    /// Runs statements without results.
    func execute(_ sql: String) throws(AgentError) {
        var message: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &message) != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            throw .state("\(path): \(text)")
        }
    }

    enum Value {
        case text(String)
        case blob([UInt8])
        case integer(Int64)
        case null
    }

    /// Runs one statement with parameters; returns its rows.
    @discardableResult
    func query(_ sql: String, _ parameters: [Value] = []) throws(AgentError) -> [[Value]] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else { throw error() }
        defer { sqlite3_finalize(statement) }
        for (index, parameter) in parameters.enumerated() {
            let position = Int32(index + 1)
            switch parameter {
            case .text(let text): _ = cimdb_sqlite3_bind_text(statement, position, text, -1)
            case .blob(let bytes): _ = bytes.withUnsafeBytes { cimdb_sqlite3_bind_blob(statement, position, $0.baseAddress, Int32($0.count)) }
            case .integer(let value): sqlite3_bind_int64(statement, position, value)
            case .null: sqlite3_bind_null(statement, position)
            }
        }
        var rows: [[Value]] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw error() }
            var row: [Value] = []
            for column in 0..<sqlite3_column_count(statement) {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_NULL: row.append(.null)
                case SQLITE_BLOB:
                    let count = Int(sqlite3_column_bytes(statement, column))
                    if count == 0 {
                        row.append(.blob([]))
                    } else {
                        let pointer = sqlite3_column_blob(statement, column)!
                        row.append(.blob(Array(UnsafeRawBufferPointer(start: pointer, count: count))))
                    }
                default: row.append(.text(String(cString: sqlite3_column_text(statement, column))))
                }
            }
            rows.append(row)
        }
        return rows
    }

    func transaction<T>(_ body: () throws(AgentError) -> T) throws(AgentError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            // The body's error is the one to report; a failed ROLLBACK means SQLite already rolled back.
            try? execute("ROLLBACK")
            throw error
        }
    }

    private func error() -> AgentError { .state("\(path): \(String(cString: sqlite3_errmsg(handle)))") }
}

extension SQLiteDatabase.Value {
    var integer: Int64? { if case .integer(let v) = self { v } else { nil } }
    var text: String? { if case .text(let v) = self { v } else { nil } }
    var blob: [UInt8]? {
        switch self {
        case .blob(let v): v
        case .text(let v): Array(v.utf8)
        default: nil
        }
    }
}
