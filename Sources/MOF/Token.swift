import CIM

/// A lexical token: its kind, its byte range in the file, and for literals their decoded
/// number (so the parser never scans a literal twice).
struct Token: Sendable {
    enum Kind: UInt8, Sendable {
        case identifier, string, char16, integer, real, alias, pragma
        case leftBrace, rightBrace, leftParen, rightParen, leftBracket, rightBracket
        case semicolon, comma, colon, equals
        case end
    }

    var kind: Kind
    var start: Int
    var end: Int
    /// integer: the magnitude; real: the bit pattern of the Double; char16: the code unit.
    var payload: UInt64 = 0
    /// integer: whether a minus sign precedes the magnitude. string: whether it holds escapes.
    var flag = false

    var length: Int { end - start }
}

extension Token.Kind {
    /// How the kind is named in "expected ..." messages.
    var spelling: String {
        switch self {
        case .identifier: "identifier"
        case .string: "string literal"
        case .char16: "char16 literal"
        case .integer: "integer"
        case .real: "real number"
        case .alias: "alias"
        case .pragma: "#pragma"
        case .leftBrace: "'{'"
        case .rightBrace: "'}'"
        case .leftParen: "'('"
        case .rightParen: "')'"
        case .leftBracket: "'['"
        case .rightBracket: "']'"
        case .semicolon: "';'"
        case .comma: "','"
        case .colon: "':'"
        case .equals: "'='"
        case .end: "end of file"
        }
    }
}
