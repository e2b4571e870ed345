public import CIM
public import SQLCore

/// How each CIM type is stored, losslessly, in PostgreSQL; and the CHECK constraints that keep
/// a column within its CIM type where the SQL type is wider.
///
/// | CIM | PostgreSQL | check |
/// |---|---|---|
/// | uint8, sint8, sint16 | smallint | range (uint8, sint8) |
/// | uint16, sint32 | integer | range (uint16) |
/// | uint32, sint64 | bigint | range (uint32) |
/// | uint64 | numeric(20,0) | 0 … 18446744073709551615 |
/// | real32, real64 | real, double precision | |
/// | boolean | boolean | |
/// | char16 | text | one character |
/// | string, object | text | MaxLen → char_length |
/// | datetime | text (the CIM string) | format; plus generated `_time`/`_interval` columns |
/// | reference | bigint → cimdb.instance(id) | foreign key, ON DELETE CASCADE |
///
/// Arrays are PostgreSQL arrays of the same type, checked element by element.
public struct ColumnType: Sendable, Hashable {
    public var type: DataType
    public var isArray: Bool

    public init(type: DataType, isArray: Bool) {
        self.type = type
        self.isArray = isArray
    }

    /// The SQL type, e.g. `numeric(20,0)[]`.
    /// The type, for casts in statements (`::bigint`, `::text[]`).
    public var sqlType: SQL { .verbatim(sql) }

    public var sql: String {
        let base: String
        switch type {
        case .uint8, .sint8, .sint16: base = "smallint"
        case .uint16, .sint32: base = "integer"
        case .uint32, .sint64, .reference: base = "bigint"
        case .uint64: base = "numeric(20,0)"
        case .real32: base = "real"
        case .real64: base = "double precision"
        case .boolean: base = "boolean"
        case .char16, .string, .datetime, .object: base = "text"
        }
        return isArray ? base + "[]" : base
    }

    /// The range the SQL type must be narrowed to, as SQL literals, when it is wider than the CIM type.
    public var checkedRange: (minimum: String, maximum: String)? {
        switch type {
        case .uint8, .sint8, .uint16, .uint32, .uint64:
            let (minimum, maximum) = type.integerRange!
            return (String(minimum), String(maximum))
        default:
            return nil
        }
    }

    /// The CHECK expressions for a column of this type (`column` already quoted), each with a
    /// short name for its constraint.
    public func checks(column: String, maxLength: Int?) -> [(name: String, expression: String)] {
        var checks: [(name: String, expression: String)] = []
        if let (minimum, maximum) = checkedRange {
            checks.append(
                (
                    "range",
                    isArray
                        ? "\(minimum) <= ALL (\(column)) AND \(maximum) >= ALL (\(column))"
                        : "\(column) BETWEEN \(minimum) AND \(maximum)"
                ))
        }
        switch type {
        case .char16:
            checks.append(("char16", isArray ? "cimdb.all_single_characters(\(column))" : "char_length(\(column)) = 1"))
        case .datetime:
            checks.append(("datetime", isArray ? "cimdb.all_cim_datetimes(\(column))" : "cimdb.is_cim_datetime(\(column))"))
        case .string, .object:
            if let maxLength {
                checks.append(("maxlen", isArray ? "cimdb.all_within_length(\(column), \(maxLength))" : "char_length(\(column)) <= \(maxLength)"))
            }
        default:
            break
        }
        return checks
    }
}

extension Property {
    /// The MaxLen qualifier of a string property, if any.
    public var maxLength: Int? {
        switch qualifiers.value("MaxLen") {
        case .unsigned(let n)?: Int(exactly: n)
        case .signed(let n)?: Int(exactly: n)
        default: nil
        }
    }

    public var columnType: ColumnType { ColumnType(type: type, isArray: isArray) }
}
