import CIM

/// Checking literals against declared types: integer ranges, reals, strings, char16,
/// booleans, datetimes, references (object paths and aliases), arrays.
extension Checker {
    /// Converts a literal to a value of `type`, or reports "value of the wrong type" naming
    /// `what` and returns nil.
    mutating func convert(
        _ literal: LiteralSyntax, to type: DataType, isArray: Bool, arraySize: Int?, referenceClass: String?,
        what: @autoclosure () -> String, file: SourceFile
    ) -> Value? {
        if case .null = literal.literal { return .null }
        if case .array(let elements) = literal.literal {
            guard isArray else {
                error("value of the wrong type for \(what()): expected a single \(type.rawValue) value, found an array", file, literal.offset)
                return nil
            }
            if let arraySize, elements.count > arraySize {
                error("too many values for \(what()): the array holds at most \(arraySize), found \(elements.count)", file, literal.offset)
                return nil
            }
            var values: [Value] = []
            values.reserveCapacity(elements.count)
            var ok = true
            for element in elements {
                if case .null = element.literal {
                    values.append(.null)
                } else if let v = scalar(element, to: type, referenceClass: referenceClass, what: what(), file: file) {
                    values.append(v)
                } else {
                    ok = false
                }
            }
            return ok ? .array(values) : nil
        }
        guard let value = scalar(literal, to: type, referenceClass: referenceClass, what: what(), file: file) else { return nil }
        // A single value where an array is declared is taken as a one-element array.
        return isArray ? .array([value]) : value
    }

    private mutating func wrongType(_ what: @autoclosure () -> String, _ type: DataType, _ found: String, _ file: SourceFile, _ offset: Int) -> Value?
    {
        error("value of the wrong type for \(what()): expected a value of type \(type.rawValue), found \(found)", file, offset)
        return nil
    }

    static func describe(_ literal: Literal) -> String {
        switch literal {
        case .null: "NULL"
        case .boolean(let b): "the boolean \(b ? "true" : "false")"
        case .integer(let negative, let magnitude): "the integer \(negative ? "-" : "")\(magnitude)"
        case .real(let d): "the real \(d)"
        case .string(let s): "the string \"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
        case .char16(let c): "the char16 '\(String(decoding: [c], as: UTF16.self))'"
        case .alias(let a): "the alias $\(a)"
        case .array: "an array"
        }
    }

    private mutating func scalar(
        _ literal: LiteralSyntax, to type: DataType, referenceClass: String?, what: @autoclosure () -> String, file: SourceFile
    ) -> Value? {
        let offset = literal.offset
        switch (type, literal.literal) {
        case (_, .array):
            return wrongType(what(), type, "a nested array", file, offset)
        case (.boolean, .boolean(let b)):
            return .boolean(b)
        case (_, .integer(let negative, let magnitude)) where type.isInteger:
            let (minimum, maximum) = type.integerRange!
            if negative {
                let limit = minimum == Int64.min ? UInt64(Int64.max) + 1 : UInt64(-minimum)
                guard magnitude <= limit else {
                    error("value out of range for \(what()): -\(magnitude) is below the \(type.rawValue) minimum \(minimum)", file, offset)
                    return nil
                }
                return .signed(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
            }
            guard magnitude <= maximum else {
                error("value out of range for \(what()): \(magnitude) is above the \(type.rawValue) maximum \(maximum)", file, offset)
                return nil
            }
            return type.isSigned ? .signed(Int64(magnitude)) : .unsigned(magnitude)
        case (_, .integer(let negative, let magnitude)) where type.isReal:
            let d = Double(magnitude)
            return .real(negative ? -d : d)
        case (.real32, .real(let d)):
            guard abs(d) <= Double(Float.greatestFiniteMagnitude) else {
                error("value out of range for \(what()): \(d) does not fit in a real32", file, offset)
                return nil
            }
            return .real(d)
        case (.real64, .real(let d)):
            return .real(d)
        case (.string, .string(let s)), (.object, .string(let s)):
            return .string(s)
        case (.string, .char16(let c)):
            return .string(String(decoding: [c], as: UTF16.self))
        case (.char16, .char16(let c)):
            return .char16(c)
        case (.datetime, .string(let s)):
            guard Self.isValidDatetime(s) else {
                error(
                    "invalid datetime value \"\(s)\" for \(what()): expected yyyymmddhhmmss.mmmmmmsutc (a timestamp) or ddddddddhhmmss.mmmmmm:000 (an interval)",
                    file, offset)
                return nil
            }
            return .datetime(s)
        case (.reference, .string(let s)):
            return .reference(s)
        case (.reference, .alias(let name)):
            if let path = aliases[name] { return .reference(path) }
            if declaredAliases.contains(name) {
                error("alias $\(name) is used before its instance is declared", file, offset)
            } else {
                error("alias $\(name) is not defined", file, offset)
            }
            return nil
        case (_, .alias(let name)):
            return wrongType(what(), type, "the alias $\(name) (aliases name instances, for references only)", file, offset)
        default:
            return wrongType(what(), type, Self.describe(literal.literal), file, offset)
        }
    }

    /// DSP0004 §5.2.4: 25 characters, `yyyymmddhhmmss.mmmmmm` then `+`/`-` and a 3-digit UTC
    /// offset in minutes, or `ddddddddhhmmss.mmmmmm:000`; `*` may replace digits.
    static func isValidDatetime(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 25, u[14] == UInt8(ascii: ".") else { return false }
        let isDigitOrStar = { (c: UInt8) in Lexer.isDigit(c) || c == UInt8(ascii: "*") }
        for i in 0..<14 where !isDigitOrStar(u[i]) { return false }
        for i in 15..<21 where !isDigitOrStar(u[i]) { return false }
        switch u[21] {
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            return u[22...].allSatisfy(isDigitOrStar)
        case UInt8(ascii: ":"):
            return u[22...].allSatisfy { $0 == UInt8(ascii: "0") }
        default:
            return false
        }
    }
}
