import Store

/// Records a result that was not applied, with its raw input and every reason.
enum Rejection {
    @discardableResult
    static func record(kind: String, node: String?, monitor: String?, settings: String?, property: String?, raw: [UInt8],
                       errors: [String], on connection: Connection) throws -> Int64 {
        try connection.execute("""
            INSERT INTO cimdb.rejected_result (kind, node, monitor, settings, property_name, raw, errors)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
            """, [SQLValue(kind), SQLValue(node), SQLValue(monitor), SQLValue(settings), SQLValue(property), SQLValue(bytes: raw),
                  SQLValue(array: errors)]).first?.int64("id") ?? 0
    }
}
