import CIM

/// Literal values: constants, adjacent string concatenation, array initializers and aliases.
extension Parser {
    /// A constant: number, string (adjacent strings concatenate), char16, boolean or NULL;
    /// an alias where a reference value is allowed.
    mutating func parseConstant(context: String) throws(Abort) -> LiteralSyntax {
        let token = peek(0)
        switch token.kind {
        case .string:
            advance()
            guard peek(0).kind == .string else {
                return LiteralSyntax(literal: .string(file.stringValue(token)), offset: token.start)
            }
            // Adjacent literals (long Descriptions are split over many lines) decode into one buffer.
            var bytes: [UInt8] = []
            file.appendStringValue(token, to: &bytes)
            while peek(0).kind == .string { file.appendStringValue(advance(), to: &bytes) }
            return LiteralSyntax(literal: .string(String(decoding: bytes, as: UTF8.self)), offset: token.start)
        case .integer:
            advance()
            return LiteralSyntax(literal: .integer(negative: token.flag, magnitude: token.payload), offset: token.start)
        case .real:
            advance()
            return LiteralSyntax(literal: .real(Double(bitPattern: token.payload)), offset: token.start)
        case .char16:
            advance()
            return LiteralSyntax(literal: .char16(UInt16(token.payload)), offset: token.start)
        case .alias:
            advance()
            return LiteralSyntax(literal: .alias(String(file.text(token).dropFirst())), offset: token.start)
        case .identifier:
            if isWord(token, "true") || isWord(token, "false") {
                advance()
                return LiteralSyntax(literal: .boolean(isWord(token, "true")), offset: token.start)
            }
            if isWord(token, "null") {
                advance()
                return LiteralSyntax(literal: .null, offset: token.start)
            }
            throw expected("a value", context: context)
        default:
            throw expected("a value", context: context)
        }
    }

    /// `{ constant, ... }` (possibly empty).
    mutating func parseArrayInitializer(context: String) throws(Abort) -> LiteralSyntax {
        let open = try expect(.leftBrace)
        var elements: [LiteralSyntax] = []
        if peek(0).kind != .rightBrace {
            repeat {
                elements.append(try parseConstant(context: context))
                guard peek(0).kind == .comma else { break }
                advance()
            } while true
        }
        try expect(.rightBrace, "to close the array value")
        return LiteralSyntax(literal: .array(elements), offset: open.start)
    }

    /// A default or instance value: an array initializer or a constant (or alias).
    mutating func parseInitializer(context: String) throws(Abort) -> LiteralSyntax {
        if peek(0).kind == .leftBrace { return try parseArrayInitializer(context: context) }
        return try parseConstant(context: context)
    }
}
