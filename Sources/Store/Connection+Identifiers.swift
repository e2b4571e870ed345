public import SQLCore
import CLibPQ

extension Connection {
    /// `name` quoted as an SQL identifier (`PQescapeIdentifier`): `a"b` → `"a""b"`. For the
    /// identifiers that must be part of the SQL text (channel, schema and table names); values
    /// go in parameters instead.
    public func quoteIdentifier(_ name: String) throws(PostgresError) -> String {
        let handle = try openHandle()
        guard !name.utf8.contains(0) else {
            throw PostgresError(kind: .query, message: "an identifier cannot contain a NUL character")
        }
        guard let escaped = PQescapeIdentifier(handle, name, name.utf8.count) else {
            throw PostgresError(
                kind: .query, message: "cannot quote identifier: \(PostgresError.trimmed(String(cString: PQerrorMessage(handle))))")
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }
}
