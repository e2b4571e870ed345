/// A statement: SQL text and the values it binds. Written as a string with interpolations, in
/// which every interpolated value becomes a bind parameter (`$1`, `$2`, … numbered for you) and
/// never part of the text; identifiers must say that they are identifiers, and are quoted:
///
///     let rows = try connection.execute("SELECT path FROM cimdb.instance WHERE id = \(id)")
///     try connection.execute("DELETE FROM \(table) WHERE node = ANY(\(nodes))")       // [String] → $1::text[]
///     try connection.execute("LISTEN \(identifier: channel)")                         // "channel", quoted
///
/// Arrays bind as one typed array parameter (`$1::bigint[]`), so `unnest` and `= ANY` work
/// without casts; optional values bind NULL. Fragments compose: interpolating an `SQL` appends its
/// text and its values, renumbered. Text that is not a literal — generated DDL, the migrations
/// the binary carries, a statement a user typed at `cimdb query` — enters only through
/// ``verbatim(_:)``, which says so where it is used.
public struct SQL: Sendable, Hashable {
    enum Part: Sendable, Hashable {
        case text(String)
        /// The value at this index of `values`.
        case value(Int)
    }

    var parts: [Part] = []
    /// The bind parameters, in order: `$1` is `values[0]`.
    public private(set) var values: [SQLValue] = []

    public init() {}

    /// Text the program itself wrote or carries (generated DDL, embedded migrations, a user's
    /// own statement): taken as SQL, unchecked. Never for values.
    public static func verbatim(_ text: String) -> SQL {
        var sql = SQL()
        sql.parts = [.text(text)]
        return sql
    }

    /// The statement's text, with `$1`, `$2`, … where its values go.
    public var text: String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .value(let index): out += "$\(index + 1)"
            }
        }
        return out
    }

    public var isEmpty: Bool { parts.allSatisfy { if case .text(let t) = $0 { t.isEmpty } else { false } } }

    /// Appends `other`'s text and values (its placeholders renumbered after this one's).
    public mutating func append(_ other: SQL) {
        let offset = values.count
        for part in other.parts {
            switch part {
            case .text(let text): parts.append(.text(text))
            case .value(let index): parts.append(.value(index + offset))
            }
        }
        values += other.values
    }

    public static func + (lhs: SQL, rhs: SQL) -> SQL {
        var sum = lhs
        sum.append(rhs)
        return sum
    }

    mutating func appendText(_ text: String) { parts.append(.text(text)) }

    mutating func appendValue(_ value: SQLValue, cast: String? = nil) {
        parts.append(.value(values.count))
        values.append(value)
        if let cast { parts.append(.text("::" + cast)) }
    }
}

extension Sequence<SQL> {
    /// The fragments one after the other, `separator` between them.
    public func joined(separator: SQL) -> SQL {
        var out = SQL()
        for (index, fragment) in enumerated() {
            if index > 0 { out.append(separator) }
            out.append(fragment)
        }
        return out
    }
}

extension SQL: ExpressibleByStringInterpolation {
    public init(stringLiteral text: String) {
        parts = [.text(text)]
    }

    public init(stringInterpolation: StringInterpolation) {
        self = stringInterpolation.sql
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = SQL()

        public init(literalCapacity: Int, interpolationCount: Int) {}

        public mutating func appendLiteral(_ literal: String) { sql.appendText(literal) }

        /// A value: one bind parameter.
        public mutating func appendInterpolation(_ value: some SQLBindable) { sql.appendValue(value.sqlValue) }

        /// A value or NULL: one bind parameter.
        public mutating func appendInterpolation<Value: SQLBindable>(_ value: Value?) { sql.appendValue(value?.sqlValue ?? .null) }

        /// A value already in PostgreSQL's text form (the server infers its type): one parameter.
        public mutating func appendInterpolation(_ value: SQLValue) { sql.appendValue(value) }

        /// An array: one parameter, cast to the elements' array type (`$1::text[]`).
        public mutating func appendInterpolation<Element: SQLArrayElement>(_ values: [Element]) {
            sql.appendValue(SQLValue(array: values.map { $0.sqlValue.text }), cast: Element.arrayType)
        }

        /// An array with NULL elements: one parameter, cast to the elements' array type.
        public mutating func appendInterpolation<Element: SQLArrayElement>(_ values: [Element?]) {
            sql.appendValue(SQLValue(array: values.map { $0?.sqlValue.text }), cast: Element.arrayType)
        }

        /// An array or NULL: one parameter, cast to the elements' array type.
        public mutating func appendInterpolation<Element: SQLArrayElement>(_ values: [Element]?) {
            sql.appendValue(values.map { SQLValue(array: $0.map { $0.sqlValue.text }) } ?? .null, cast: Element.arrayType)
        }

        /// An identifier (a table, column, role or channel name), quoted.
        public mutating func appendInterpolation(identifier name: String) { sql.appendText(SQLIdentifier(name).quoted) }

        /// An identifier, quoted (schema-qualified when it has a schema).
        public mutating func appendInterpolation(_ identifier: SQLIdentifier) { sql.appendText(identifier.quoted) }

        /// A fragment: its text and its values, renumbered.
        public mutating func appendInterpolation(_ fragment: SQL) { sql.append(fragment) }
    }
}

extension SQL: CustomStringConvertible {
    /// The text, then the values: for logs and test failures.
    public var description: String {
        values.isEmpty ? text : text + " -- " + values.enumerated().map { "$\($0.offset + 1) = \($0.element)" }.joined(separator: ", ")
    }
}

/// A name in SQL: always double-quoted, with `"` doubled, so any text is safe as a name — a
/// role, a channel, a table a model declares. A name cannot hold a NUL character (PostgreSQL
/// cannot store one); such a name is quoted without it and cannot match anything.
public struct SQLIdentifier: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var schema: String?

    public init(_ name: String, schema: String? = nil) {
        self.name = name
        self.schema = schema
    }

    /// `"schema"."name"`, or `"name"`.
    public var quoted: String {
        let name = Self.quote(self.name)
        return schema.map { Self.quote($0) + "." + name } ?? name
    }

    public var description: String { quoted }

    static func quote(_ name: String) -> String {
        "\"" + name.filter { $0 != "\0" }.replacing("\"", with: "\"\"") + "\""
    }
}

/// A Swift value that binds as one parameter in its text form.
public protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

/// A value that binds in arrays too, as `arrayType` (`text[]`, `bigint[]`).
public protocol SQLArrayElement: SQLBindable {
    static var arrayType: String { get }
}

extension String: SQLArrayElement {
    public var sqlValue: SQLValue { SQLValue(self) }
    public static var arrayType: String { "text[]" }
}

extension Substring: SQLArrayElement {
    public var sqlValue: SQLValue { SQLValue(String(self)) }
    public static var arrayType: String { "text[]" }
}

extension Int: SQLArrayElement {
    public var sqlValue: SQLValue { SQLValue(self) }
    public static var arrayType: String { "bigint[]" }
}

extension Int64: SQLArrayElement {
    public var sqlValue: SQLValue { SQLValue(self) }
    public static var arrayType: String { "bigint[]" }
}

extension Int32: SQLArrayElement {
    public var sqlValue: SQLValue { SQLValue(Int(self)) }
    public static var arrayType: String { "integer[]" }
}

extension UInt64: SQLArrayElement {
    public var sqlValue: SQLValue { SQLValue(self) }
    public static var arrayType: String { "numeric[]" }
}

extension Double: SQLArrayElement {
    public var sqlValue: SQLValue { SQLValue(self) }
    public static var arrayType: String { "double precision[]" }
}

extension Bool: SQLArrayElement {
    public var sqlValue: SQLValue { SQLValue(self) }
    public static var arrayType: String { "boolean[]" }
}

/// Bytes, bound as `bytea` (hex format).
public struct Bytea: SQLArrayElement, Sendable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var sqlValue: SQLValue { SQLValue(bytes: bytes) }
    public static var arrayType: String { "bytea[]" }
}

extension SQL {
    /// Identifiers, comma-separated (a column list), each quoted.
    public static func list(_ identifiers: [SQLIdentifier]) -> SQL {
        .verbatim(identifiers.map(\.quoted).joined(separator: ", "))
    }

    /// Values, comma-separated (a row of VALUES), each a bind parameter.
    public static func list(_ values: [SQLValue]) -> SQL {
        values.map { value -> SQL in "\(value)" }.joined(separator: ", ")
    }
}
