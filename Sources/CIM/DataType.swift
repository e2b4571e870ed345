/// The intrinsic CIM data types (DSP0004 §5.2): fourteen primitive types, references, and
/// embedded objects. The raw value is the MOF spelling in lower case.
public enum DataType: String, Sendable, Hashable, CaseIterable, Codable {
    case uint8, sint8, uint16, sint16, uint32, sint32, uint64, sint64
    case real32, real64
    case char16, string, boolean, datetime
    /// `<ClassName> REF`: the value is an instance path of that class (or a subclass).
    case reference
    /// `object`: an embedded object (DSP0004's EmbeddedObject).
    case object

    /// Looks up a MOF type keyword, case-insensitively. `reference` is not a keyword in MOF
    /// (it is spelled `ClassName REF`), so it is not returned here.
    public init?(mofKeyword: some StringProtocol) {
        switch mofKeyword.lowercased() {
        case "uint8": self = .uint8
        case "sint8": self = .sint8
        case "uint16": self = .uint16
        case "sint16": self = .sint16
        case "uint32": self = .uint32
        case "sint32": self = .sint32
        case "uint64": self = .uint64
        case "sint64": self = .sint64
        case "real32": self = .real32
        case "real64": self = .real64
        case "char16": self = .char16
        case "string": self = .string
        case "boolean": self = .boolean
        case "datetime": self = .datetime
        case "object": self = .object
        default: return nil
        }
    }

    public var isInteger: Bool { integerRange != nil }
    public var isSigned: Bool {
        switch self {
        case .sint8, .sint16, .sint32, .sint64: true
        default: false
        }
    }
    public var isReal: Bool { self == .real32 || self == .real64 }
    public var isNumeric: Bool { isInteger || isReal }

    /// The inclusive range of an integer type, as (minimum, maximum) in 128-bit-safe form:
    /// the minimum as a negative magnitude and the maximum as an unsigned value.
    public var integerRange: (minimum: Int64, maximum: UInt64)? {
        switch self {
        case .uint8: (0, UInt64(UInt8.max))
        case .sint8: (Int64(Int8.min), UInt64(Int8.max))
        case .uint16: (0, UInt64(UInt16.max))
        case .sint16: (Int64(Int16.min), UInt64(Int16.max))
        case .uint32: (0, UInt64(UInt32.max))
        case .sint32: (Int64(Int32.min), UInt64(Int32.max))
        case .uint64: (0, UInt64.max)
        case .sint64: (Int64.min, UInt64(Int64.max))
        default: nil
        }
    }
}
