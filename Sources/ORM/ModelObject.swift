public import CIM
public import SQLCore

/// A generated model type (`CIMModel`): one struct per CIM class with typed properties,
/// mapped to the class's table. References are the referenced instances' ids
/// (`cimdb.instance.id`), as the table stores them.
public protocol ModelObject: Sendable, Hashable {
    /// The CIM class name, as the MOF spells it.
    static var className: String { get }
    static var superclassName: String? { get }
    /// The table in schema `cim`, unquoted.
    static var tableName: String { get }
    static var isAbstract: Bool { get }
    /// The resolved properties, inherited first, with their columns and CIM types.
    static var properties: [PropertyMapping] { get }

    /// Decodes a row of `SELECT * FROM cim.<table>` (text format).
    init(row: Row) throws(ValueError)

    /// The property values (all of them; `.null` where unset), in `properties` order.
    var values: [Value] { get }
}

extension ModelObject {
    public static var keys: [PropertyMapping] { properties.filter(\.isKey) }

    /// The schema-qualified table, quoted where needed.
    public static var qualifiedTable: String { SQLNames.modelSchema + "." + SQLNames.quoted(tableName) }
    /// The schema-qualified table, for statements.
    public static var sqlTable: SQLIdentifier { SQLIdentifier(tableName, schema: SQLNames.modelSchema) }

    /// The columns and values for an INSERT (generated datetime columns excluded).
    public var row: [(column: String, value: SQLValue)] {
        zip(Self.properties, values).map { property, value in
            (property.column, ValueCoding.sqlValue(value, for: property))
        }
    }

    /// The instance path, keys sorted by name. References among the keys are written as the
    /// paths `resolve` returns for their ids.
    public func path(resolving resolve: (Int64) -> String? = { _ in nil }) -> InstancePath {
        let bindings = zip(Self.properties, values)
            .filter { $0.0.isKey }
            .sorted { namePrecedes($0.0.name, $1.0.name) }
            .map { property, value -> (String, Value) in
                if property.isReference, case .signed(let id) = value {
                    return (property.name, .reference(resolve(id) ?? "#\(id)"))
                }
                return (property.name, value)
            }
        return InstancePath(className: Self.className, keys: bindings)
    }
}

/// Conversions the generated types use between CIM values and Swift types.
public enum ModelValues {
    // MARK: Value → Swift

    public static func string(_ v: Value, _ name: String) throws(ValueError) -> String? {
        switch v {
        case .null: nil
        case .string(let s), .datetime(let s), .reference(let s): s
        default: throw ValueError("\(name): expected a string, found \(v)")
        }
    }

    public static func integer<T: FixedWidthInteger>(_ v: Value, _ name: String, as: T.Type = T.self) throws(ValueError) -> T? {
        switch v {
        case .null: return nil
        case .unsigned(let u):
            guard let t = T(exactly: u) else { throw ValueError("\(name): \(u) is out of range for \(T.self)") }
            return t
        case .signed(let i):
            guard let t = T(exactly: i) else { throw ValueError("\(name): \(i) is out of range for \(T.self)") }
            return t
        default: throw ValueError("\(name): expected an integer, found \(v)")
        }
    }

    public static func real(_ v: Value, _ name: String) throws(ValueError) -> Double? {
        switch v {
        case .null: nil
        case .real(let d): d
        case .signed(let i): Double(i)
        case .unsigned(let u): Double(u)
        default: throw ValueError("\(name): expected a number, found \(v)")
        }
    }

    public static func boolean(_ v: Value, _ name: String) throws(ValueError) -> Bool? {
        switch v {
        case .null: nil
        case .boolean(let b): b
        default: throw ValueError("\(name): expected a boolean, found \(v)")
        }
    }

    public static func char16(_ v: Value, _ name: String) throws(ValueError) -> UInt16? {
        switch v {
        case .null: nil
        case .char16(let c): c
        default: throw ValueError("\(name): expected a char16, found \(v)")
        }
    }

    /// A reference column: the referenced instance's id.
    public static func reference(_ v: Value, _ name: String) throws(ValueError) -> Int64? {
        switch v {
        case .null: return nil
        case .reference(let text), .string(let text):
            guard let id = Int64(text) else { throw ValueError("\(name): expected an instance id, found \(text)") }
            return id
        case .signed(let id): return id
        case .unsigned(let u): return Int64(exactly: u)
        default: throw ValueError("\(name): expected an instance id, found \(v)")
        }
    }

    public static func array<T>(_ v: Value, _ name: String, _ element: (Value, String) throws(ValueError) -> T?) throws(ValueError) -> [T?]? {
        switch v {
        case .null: return nil
        case .array(let elements):
            var out: [T?] = []
            out.reserveCapacity(elements.count)
            for e in elements { out.append(try element(e, name)) }
            return out
        default: return [try element(v, name)]
        }
    }

    public static func required<T>(_ value: T?, _ name: String) throws(ValueError) -> T {
        guard let value else { throw ValueError("\(name): a key must have a value") }
        return value
    }

    // MARK: Swift → Value

    public static func value(_ s: String?) -> Value { s.map(Value.string) ?? .null }
    public static func datetime(_ s: String?) -> Value { s.map(Value.datetime) ?? .null }
    public static func value<T: FixedWidthInteger>(_ i: T?) -> Value {
        guard let i else { return .null }
        return T.isSigned ? .signed(Int64(i)) : .unsigned(UInt64(i))
    }
    public static func value(_ d: Double?) -> Value { d.map(Value.real) ?? .null }
    public static func value(_ f: Float?) -> Value { f.map { .real(Double($0)) } ?? .null }
    public static func value(_ b: Bool?) -> Value { b.map(Value.boolean) ?? .null }
    public static func char16(_ c: UInt16?) -> Value { c.map(Value.char16) ?? .null }
    public static func reference(_ id: Int64?) -> Value { id.map { .signed($0) } ?? .null }
    public static func array<T>(_ a: [T?]?, _ element: (T?) -> Value) -> Value {
        a.map { .array($0.map(element)) } ?? .null
    }
}
