/// A typed CIM value: what a property, qualifier or parameter holds once its literal has been
/// checked against the declared type.
///
/// Integers keep their sign: `.unsigned` holds uint8…uint64 values, `.signed` holds sint8…sint64.
/// `char16` is a UTF-16 code unit, `datetime` and `reference` keep their CIM string forms.
public enum Value: Sendable, Hashable {
    case null
    case boolean(Bool)
    case signed(Int64)
    case unsigned(UInt64)
    case real(Double)
    case char16(UInt16)
    case string(String)
    case datetime(String)
    /// An instance path in its untyped WBEM URI form, without namespace.
    case reference(String)
    case array([Value])

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value as a boolean, if it is one.
    public var booleanValue: Bool? {
        if case .boolean(let b) = self { return b }
        return nil
    }

    /// The value as a string, if it is a string-like value.
    public var stringValue: String? {
        switch self {
        case .string(let s), .datetime(let s), .reference(let s): s
        case .char16(let c): String(decoding: [c], as: UTF16.self)
        default: nil
        }
    }

    /// The elements of an array value (a scalar is treated as a one-element array, NULL as empty).
    public var arrayElements: [Value] {
        switch self {
        case .array(let elements): elements
        case .null: []
        default: [self]
        }
    }
}

extension Value: CustomStringConvertible {
    /// A MOF-like rendering, used in messages.
    public var description: String {
        switch self {
        case .null: "NULL"
        case .boolean(let b): b ? "true" : "false"
        case .signed(let i): String(i)
        case .unsigned(let u): String(u)
        case .real(let d): String(d)
        case .char16(let c): "'" + String(decoding: [c], as: UTF16.self) + "'"
        case .string(let s), .datetime(let s), .reference(let s): "\"" + s + "\""
        case .array(let a): "{" + a.map(\.description).joined(separator: ", ") + "}"
        }
    }
}
