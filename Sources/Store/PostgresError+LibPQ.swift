import CLibPQ
import SQLCore

extension PostgresError {
    /// The error a failed `PGresult` describes. Falls back to the connection's message when the
    /// result carries no fields (libpq's client-side failures, e.g. a lost connection), and
    /// reports a broken connection as ``Kind/connection``.
    init(result: OpaquePointer?, connection: OpaquePointer?, kind: Kind) {
        func field(_ code: Character) -> String? {
            guard let result, let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let broken = connection.map { PQstatus($0) == CONNECTION_BAD } ?? false
        if let primary = field("M") {
            self.init(
                kind: broken ? .connection : kind, message: primary, sqlState: field("C"),
                severity: field("V") ?? field("S"), detail: field("D"), hint: field("H"),
                constraint: field("n"), table: field("t"), column: field("c"), schema: field("s"),
                position: field("P").flatMap { Int($0) }, context: field("W")
            )
        } else {
            var message = result.flatMap { PQresultErrorMessage($0) }.map { String(cString: $0) } ?? ""
            if message.isEmpty { message = Self.message(of: connection) }
            self.init(kind: broken ? .connection : kind, message: Self.trimmed(message))
        }
    }

    /// The error a failed connection or connection-level call describes (`PQerrorMessage`).
    init(connection: OpaquePointer?, kind: Kind) {
        self.init(kind: kind, message: Self.trimmed(Self.message(of: connection)))
    }

    private static func message(of connection: OpaquePointer?) -> String {
        guard let connection, let text = PQerrorMessage(connection) else { return "unknown libpq error" }
        let message = String(cString: text)
        return message.isEmpty ? "unknown libpq error" : message
    }

    /// libpq messages end with a newline and sometimes start with "ERROR:  ".
    static func trimmed(_ message: String) -> String {
        var text = Substring(message)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
