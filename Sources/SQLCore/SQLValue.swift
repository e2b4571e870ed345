/// A statement parameter, sent to the server in text format as a bind parameter (`$1`, `$2`, …),
/// never spliced into the SQL. `nil` text is SQL `NULL`.
///
/// Literals work where a parameter is expected:
/// `try connection.execute("insert into t values (\("name"), \(42), \(nil))")`.
public struct SQLValue: Sendable, Hashable {
    /// The value in PostgreSQL's text input format; `nil` is SQL `NULL`.
    public var text: String?

    /// A value given in PostgreSQL's text input format; `nil` is SQL `NULL`.
    public init(_ text: String?) {
        self.text = text
    }

    /// An integer.
    public init(_ value: Int) {
        text = String(value)
    }

    /// A 64-bit integer.
    public init(_ value: Int64) {
        text = String(value)
    }

    /// An unsigned 64-bit integer (needs a `numeric` column above `Int64.max`).
    public init(_ value: UInt64) {
        text = String(value)
    }

    /// A double, written so that it reads back exactly; infinities and NaN as PostgreSQL spells them.
    public init(_ value: Double) {
        if value.isNaN {
            text = "NaN"
        } else if value.isInfinite {
            text = value < 0 ? "-Infinity" : "Infinity"
        } else {
            text = "\(value)"
        }
    }

    /// A boolean, as `true` or `false`.
    public init(_ value: Bool) {
        text = value ? "true" : "false"
    }

    /// A one-dimensional array literal (`{"a","b\"c",NULL}`): every element quoted and escaped,
    /// `nil` elements as `NULL`. Cast it in SQL where the type is not inferred (`$1::text[]`).
    public init(array elements: [String?]) {
        text = ArrayLiteral.encode(elements)
    }

    /// A `bytea` in hex format (`\x0aff…`).
    public init(bytes: [UInt8]) {
        text = ByteaHex.encode(bytes)
    }

    /// SQL `NULL`.
    public static let null = SQLValue(nil as String?)
}

extension SQLValue: ExpressibleByStringLiteral {
    /// A string literal is the value's text.
    public init(stringLiteral value: String) {
        self.init(value)
    }
}

extension SQLValue: ExpressibleByIntegerLiteral {
    /// An integer literal is an integer parameter.
    public init(integerLiteral value: Int) {
        self.init(value)
    }
}

extension SQLValue: ExpressibleByFloatLiteral {
    /// A float literal is a double parameter.
    public init(floatLiteral value: Double) {
        self.init(value)
    }
}

extension SQLValue: ExpressibleByBooleanLiteral {
    /// A boolean literal is a boolean parameter.
    public init(booleanLiteral value: Bool) {
        self.init(value)
    }
}

extension SQLValue: ExpressibleByNilLiteral {
    /// `nil` is SQL `NULL`.
    public init(nilLiteral: ()) {
        self.init(nil as String?)
    }
}

extension SQLValue: CustomStringConvertible {
    /// The text, or `NULL`.
    public var description: String {
        text ?? "NULL"
    }
}
