public import CIM
import Foundation
public import SQLCore

/// A value that does not fit its property: the message names class, property and value.
public struct ValueError: Error, CustomStringConvertible, Sendable, Hashable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Converting CIM values to and from their PostgreSQL text form, checked against the
/// property's CIM type (ranges, char16 length, MaxLen, datetime format).
public enum ValueCoding {
    /// Parses user text (a command line `Prop=Value`) as a value of the property's type.
    /// Arrays are written `{a,b,"c,d"}` (or a single element without braces).
    public static func parse(_ text: String, for property: PropertyMapping, of className: String) throws(ValueError) -> Value {
        if property.isArray {
            let elements =
                text.hasPrefix("{") && text.hasSuffix("}") ? try splitArray(String(text.dropFirst().dropLast()), property, className) : [text]
            var values: [Value] = []
            for element in elements {
                guard let element else {
                    values.append(.null)
                    continue
                }
                values.append(try scalar(element, property, className))
            }
            if let size = property.arraySize, values.count > size {
                throw ValueError("too many values for \(className).\(property.name): \(values.count), the array holds \(size)")
            }
            return .array(values)
        }
        return try scalar(text, property, className)
    }

    static func splitArray(_ body: String, _ property: PropertyMapping, _ className: String) throws(ValueError) -> [String?] {
        if body.isEmpty { return [] }
        var elements: [String?] = []
        var current = ""
        var quoted = false, wasQuoted = false, escape = false
        for ch in body {
            if escape {
                current.append(ch)
                escape = false
            } else if ch == "\\" {
                escape = true
            } else if ch == "\"" {
                quoted.toggle()
                wasQuoted = true
            } else if ch == ",", !quoted {
                elements.append(!wasQuoted && current.uppercased() == "NULL" ? nil : current)
                current = ""
                wasQuoted = false
            } else {
                current.append(ch)
            }
        }
        if quoted { throw ValueError("unterminated quote in the array value of \(className).\(property.name)") }
        elements.append(!wasQuoted && current.uppercased() == "NULL" ? nil : current)
        return elements
    }

    static func scalar(_ text: String, _ p: PropertyMapping, _ className: String) throws(ValueError) -> Value {
        let what = "\(className).\(p.name)"
        switch p.type {
        case .uint8, .uint16, .uint32, .uint64, .sint8, .sint16, .sint32, .sint64:
            let (minimum, maximum) = p.type.integerRange!
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if let u = UInt64(trimmed) {
                guard u <= maximum else { throw outOfRange(what, text, p.type, minimum, maximum) }
                return p.type.isSigned ? .signed(Int64(u)) : .unsigned(u)
            }
            if let i = Int64(trimmed) {
                guard i >= minimum else { throw outOfRange(what, text, p.type, minimum, maximum) }
                return .signed(i)
            }
            if trimmed.first == "-" || trimmed.allSatisfy(\.isNumber), !trimmed.isEmpty {
                throw outOfRange(what, text, p.type, minimum, maximum)
            }
            throw ValueError("value of the wrong type for \(what): \"\(text)\" is not an integer (\(p.type.rawValue))")
        case .real32, .real64:
            guard let d = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw ValueError("value of the wrong type for \(what): \"\(text)\" is not a number (\(p.type.rawValue))")
            }
            if p.type == .real32, d.isFinite, abs(d) > Double(Float.greatestFiniteMagnitude) {
                throw ValueError("value out of range for \(what): \(text) does not fit in a real32")
            }
            return .real(d)
        case .boolean:
            switch text.lowercased() {
            case "true", "t", "yes", "1": return .boolean(true)
            case "false", "f", "no", "0": return .boolean(false)
            default: throw ValueError("value of the wrong type for \(what): \"\(text)\" is not a boolean (true or false)")
            }
        case .char16:
            let units = Array(text.utf16)
            guard units.count == 1 else {
                throw ValueError("value of the wrong type for \(what): a char16 holds exactly one character, \"\(text)\" has \(units.count)")
            }
            return .char16(units[0])
        case .string, .object:
            if let maxLength = p.maxLength, text.count > maxLength {
                throw ValueError("value too long for \(what): \(text.count) characters, MaxLen is \(maxLength)")
            }
            return .string(text)
        case .datetime:
            guard isCIMDateTime(text) else {
                throw ValueError("invalid datetime for \(what): \"\(text)\" (expected yyyymmddhhmmss.mmmmmmsutc or ddddddddhhmmss.mmmmmm:000)")
            }
            return .datetime(text)
        case .reference:
            return .reference(text)
        }
    }

    static func outOfRange(_ what: String, _ text: String, _ type: DataType, _ minimum: Int64, _ maximum: UInt64) -> ValueError {
        ValueError("value out of range for \(what): \(text) (\(type.rawValue) is \(minimum)…\(maximum))")
    }

    /// DSP0004 §5.2.4 datetime strings.
    public static func isCIMDateTime(_ s: String) -> Bool {
        s.range(of: #"^[0-9*]{14}\.[0-9*]{6}([+-][0-9*]{3}|:000)$"#, options: .regularExpression) != nil
    }

    /// A value in PostgreSQL's text form for the property's column (references: the caller
    /// passes the referenced instance id instead).
    public static func sqlValue(_ value: Value, for property: PropertyMapping) -> SQLValue {
        switch value {
        case .null: return SQLValue(nil)
        case .array(let elements): return SQLValue(array: elements.map { $0.isNull ? nil : scalarText($0) })
        default: return SQLValue(scalarText(value))
        }
    }

    /// A scalar value as SQL text (arrays: the elements comma-joined).
    public static func scalarText(_ value: Value) -> String {
        switch value {
        case .boolean(let b): b ? "true" : "false"
        case .signed(let i): String(i)
        case .unsigned(let u): String(u)
        case .real(let d): d.isFinite ? "\(d)" : (d.isNaN ? "NaN" : (d < 0 ? "-Infinity" : "Infinity"))
        case .char16(let c): String(decoding: [c], as: UTF16.self)
        case .string(let s), .datetime(let s), .reference(let s): s
        case .null: ""
        case .array(let a): a.map(scalarText).joined(separator: ",")
        }
    }

    /// Reads a column of a row (text format) as a CIM value of the property's type.
    public static func value(in row: Row, column: String, for property: PropertyMapping) -> Value {
        if property.isArray {
            guard let elements = row.stringArray(column) else { return .null }
            return .array(elements.map { $0.map { decode($0, property.type) } ?? .null })
        }
        guard let text = row[column] else { return .null }
        return decode(text, property.type)
    }

    /// A column's text (PostgreSQL's text format) as a CIM value of `type`.
    public static func decodeText(_ text: String, _ type: DataType) -> Value { decode(text, type) }

    static func decode(_ text: String, _ type: DataType) -> Value {
        switch type {
        case .uint8, .uint16, .uint32, .uint64: UInt64(text).map(Value.unsigned) ?? .string(text)
        case .sint8, .sint16, .sint32, .sint64: Int64(text).map(Value.signed) ?? .string(text)
        case .real32, .real64: Double(text).map(Value.real) ?? .string(text)
        case .boolean: .boolean(text == "t" || text == "true")
        case .char16: text.utf16.first.map(Value.char16) ?? .string(text)
        case .datetime: .datetime(text)
        case .string, .object: .string(text)
        case .reference: .reference(text)
        }
    }
}
