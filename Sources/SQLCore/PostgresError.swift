/// An error from PostgreSQL or from talking to it: a failed connection, a failed statement, a
/// failed COPY, a server that answered something unexpected, or an embedded cluster that could
/// not be managed.
///
/// Server errors carry the fields the server sent (SQLSTATE, detail, hint, the constraint,
/// table and column involved, the cursor position in the statement).
///
/// ``description`` is generic — the kind and the SQLSTATE, `query error 23505` — so that an
/// error that travels further than meant (into an HTTP answer, a log read by others) carries no
/// data, table or statement text; ``debugDescription`` has everything the server said, for
/// operators: logs and the command line print it (`String(reflecting:)`). Neither ever contains
/// the connection string or a password.
public struct PostgresError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    /// What was going on when the error happened.
    public enum Kind: Sendable, Hashable {
        /// Connecting, or the connection broke.
        case connection
        /// A statement failed.
        case query
        /// A COPY failed or was aborted.
        case copy
        /// The server or libpq answered something this library did not expect.
        case protocolViolation
        /// The embedded cluster could not be initialized, started, stopped or inspected.
        case cluster
    }

    /// What was going on when the error happened.
    public var kind: Kind
    /// The five-character SQLSTATE, e.g. `"23505"` (unique violation); `nil` for client errors.
    public var sqlState: String?
    /// The non-localized severity the server sent, e.g. `"ERROR"` or `"FATAL"`.
    public var severity: String?
    /// The primary message.
    public var message: String
    /// The server's DETAIL, if any.
    public var detail: String?
    /// The server's HINT, if any.
    public var hint: String?
    /// The constraint involved, if any.
    public var constraint: String?
    /// The table involved, if any.
    public var table: String?
    /// The column involved, if any.
    public var column: String?
    /// The schema involved, if any.
    public var schema: String?
    /// The error cursor position in the statement, in characters, 1-based.
    public var position: Int?
    /// Where in the server it happened, e.g. `COPY items, line 40001, column id: "x"` or a
    /// PL/pgSQL call stack.
    public var context: String?

    /// Makes an error from its parts.
    public init(
        kind: Kind, message: String, sqlState: String? = nil, severity: String? = nil,
        detail: String? = nil, hint: String? = nil, constraint: String? = nil,
        table: String? = nil, column: String? = nil, schema: String? = nil, position: Int? = nil,
        context: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.severity = severity
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.table = table
        self.column = column
        self.schema = schema
        self.position = position
        self.context = context
    }

    /// `query error 23505`, `connection error`: what kind of error, without its text.
    public var description: String {
        kind.label + (sqlState.map { " \($0)" } ?? "")
    }

    /// `ERROR 23505: duplicate key value violates unique constraint "t_pkey" (DETAIL: …)`, then
    /// HINT and CONTEXT when the server sent them,
    /// for server errors; `connection error: …` and the like for client-side errors.
    public var debugDescription: String {
        var text: String
        if let sqlState {
            text = "\(severity ?? "ERROR") \(sqlState): \(message)"
        } else {
            text = "\(kind.label): \(message)"
        }
        if let position { text += " (at character \(position))" }
        if let detail { text += " (DETAIL: \(detail))" }
        if let hint { text += " (HINT: \(hint))" }
        if let context { text += " (CONTEXT: \(context))" }
        return text
    }
}

extension PostgresError.Kind {
    /// How the kind reads at the start of a client-side error.
    var label: String {
        switch self {
        case .connection: "connection error"
        case .query: "query error"
        case .copy: "COPY error"
        case .protocolViolation: "protocol violation"
        case .cluster: "cluster error"
        }
    }
}

extension PostgresError {
    /// A deadlock or serialization failure (SQLSTATE 40P01, 40001): the transaction lost a race
    /// with another one and succeeds when run again. Not a verdict on the data.
    public var isTransient: Bool { sqlState == "40P01" || sqlState == "40001" }
}
