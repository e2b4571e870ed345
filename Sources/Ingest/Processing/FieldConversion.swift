import CIM
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// Turns the fields of a script output line into CIM values of their properties' types.
enum FieldConversion {
    /// A key field: empty (GS) is the empty string for string keys and an error otherwise.
    /// `scalar` is `scalar(property)`, for callers converting many fields of the same key.
    static func key(_ field: OutputField, _ property: PropertyMapping, scalar: PropertyMapping? = nil, className: String) throws(ValueError) -> Value
    {
        // A key names the instance: never empty (an empty key identifies nothing; docs/wire-formats.md).
        switch field {
        case .empty:
            throw ValueError("key \(property.name) cannot be empty (GS): a key names the instance")
        case .value(let text):
            if property.isReference { throw ValueError("key \(property.name) is a reference; references come from association scripts") }
            if text.utf8.contains(ScriptOutput.entrySeparator) { throw Self.separatorInScalar(property) }
            return try ValueCoding.parse(text, for: scalar ?? Self.scalar(property), of: className)
        }
    }

    /// An update value: GS is the empty string for string properties and NULL for every other
    /// type (char16 included: a char16 holds exactly one character); arrays are US-separated
    /// entries, each GS entry empty by the same rule.
    static func value(_ field: OutputField, _ property: PropertyMapping, className: String) throws(ValueError) -> Value {
        if property.isArray {
            guard case .value = field else { return .null }
            var values: [Value] = []
            for entry in field.entries { values.append(try scalar(entry, property, className: className)) }
            if let size = property.arraySize, values.count > size {
                throw ValueError("too many entries for \(className).\(property.name): \(values.count), the array holds \(size)")
            }
            return .array(values)
        }
        return try scalar(field, property, className: className)
    }

    static func scalar(_ field: OutputField, _ property: PropertyMapping, className: String) throws(ValueError) -> Value {
        switch field {
        case .empty:
            return property.type == .string || property.type == .object ? .string("") : .null
        case .value(let text):
            if !property.isArray && text.utf8.contains(ScriptOutput.entrySeparator) { throw Self.separatorInScalar(property) }
            return try ValueCoding.parse(text, for: scalar(property), of: className)
        }
    }

    static func separatorInScalar(_ property: PropertyMapping) -> ValueError {
        ValueError("\(property.name) is a single value: US (0x1F) separates array entries and cannot be in it")
    }

    static func scalar(_ property: PropertyMapping) -> PropertyMapping {
        var p = property
        p.isArray = false
        return p
    }

    /// The canonical path: the class as the model spells it, keys sorted by name.
    static func path(_ className: String, _ keys: [(String, Value)]) -> String {
        InstancePath(className: className, keys: keys.sorted { namePrecedes($0.0, $1.0) }).description
    }
}
