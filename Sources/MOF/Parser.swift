import CIM

/// A recursive-descent parser for MOF (DSP0004 Annex A). Keywords are contextual and
/// case-insensitive, so `Association`, `Indication`, `Reference` and `Schema` stay valid
/// qualifier names. On a syntax error it reports, skips to the next `;` or declaration at the
/// same nesting level, and goes on: one run reports every error it can find.
struct Parser {
    var lexer: Lexer
    let file: SourceFile
    var log = DiagnosticLog()

    /// Lookahead ring: the parser looks at most three tokens ahead.
    private var ring: (Token, Token, Token, Token)
    private var head = 0
    private var buffered = 0
    /// How many `{` are open at the current token: recovery skips to the same depth.
    private(set) var braceDepth = 0

    /// Thrown after a syntax error has been reported, to unwind to a recovery point.
    struct Abort: Error {}

    init(bytes: UnsafeBufferPointer<UInt8>, file: SourceFile) {
        self.lexer = Lexer(bytes: bytes, file: file)
        self.file = file
        let none = Token(kind: .end, start: 0, end: 0)
        self.ring = (none, none, none, none)
    }

    /// Parses a whole file. Diagnostics of the lexer and the parser come back in file order.
    static func parse(_ file: SourceFile) -> SyntaxFile {
        file.bytes.withUnsafeBufferPointer { buffer in
            var parser = Parser(bytes: buffer, file: file)
            let productions = parser.parseFile()
            var diagnostics = parser.lexer.log.diagnostics + parser.log.diagnostics
            diagnostics.sort { ($0.location?.line ?? 0, $0.location?.column ?? 0) < ($1.location?.line ?? 0, $1.location?.column ?? 0) }
            return SyntaxFile(file: file, productions: productions, diagnostics: diagnostics)
        }
    }

    // MARK: Token access

    private func slot(_ i: Int) -> Token {
        switch i & 3 {
        case 0: ring.0
        case 1: ring.1
        case 2: ring.2
        default: ring.3
        }
    }

    private mutating func setSlot(_ i: Int, _ token: Token) {
        switch i & 3 {
        case 0: ring.0 = token
        case 1: ring.1 = token
        case 2: ring.2 = token
        default: ring.3 = token
        }
    }

    /// The token `k` positions ahead (0 = current).
    mutating func peek(_ k: Int = 0) -> Token {
        while buffered <= k {
            setSlot(head + buffered, lexer.next())
            buffered += 1
        }
        return slot(head + k)
    }

    var current: Token {
        mutating get { peek(0) }
    }

    @discardableResult
    mutating func advance() -> Token {
        let token = peek(0)
        head = (head + 1) & 3
        buffered -= 1
        if token.kind == .leftBrace { braceDepth += 1 }
        if token.kind == .rightBrace { braceDepth -= 1 }
        return token
    }

    /// Whether the token is the identifier `word` (case-insensitively).
    func isWord(_ token: Token, _ word: StaticString) -> Bool {
        token.kind == .identifier && Lexer.equalsIgnoringCase(lexer.bytes, token.start, token.end, word)
    }

    mutating func atWord(_ word: StaticString) -> Bool { isWord(peek(0), word) }

    /// How a token is shown in "found ..." messages.
    func describe(_ token: Token) -> String {
        switch token.kind {
        case .identifier, .integer, .real: "'\(file.text(token))'"
        case .end: "end of file"
        default: token.kind.spelling
        }
    }

    // MARK: Errors

    mutating func fail(_ message: String, at offset: Int) -> Abort {
        log.error(message, in: file, at: offset)
        return Abort()
    }

    mutating func expected(_ what: String, context: String = "") -> Abort {
        let token = peek(0)
        let suffix = context.isEmpty ? "" : " " + context
        return fail("expected \(what)\(suffix), found \(describe(token))", at: token.start)
    }

    @discardableResult
    mutating func expect(_ kind: Token.Kind, _ context: String = "") throws(Abort) -> Token {
        guard peek(0).kind == kind else { throw expected(kind.spelling, context: context) }
        return advance()
    }

    mutating func expectIdentifier(_ what: String, _ context: String = "") throws(Abort) -> (String, Int) {
        let token = peek(0)
        guard token.kind == .identifier else { throw expected(what, context: context) }
        advance()
        return (file.text(token), token.start)
    }

    mutating func expectWord(_ word: StaticString, _ context: String = "") throws(Abort) {
        guard atWord(word) else { throw expected("'\(word)'", context: context) }
        advance()
    }

    // MARK: Recovery

    /// After an error at the top level: skip to the end of the broken declaration.
    mutating func recoverTopLevel(startDepth: Int) {
        var moved = false
        while true {
            let token = peek(0)
            if token.kind == .end { return }
            if braceDepth <= startDepth {
                if token.kind == .semicolon {
                    advance()
                    return
                }
                if moved,
                    token.kind == .pragma || token.kind == .leftBracket || isWord(token, "class")
                        || isWord(token, "instance") || isWord(token, "qualifier")
                {
                    return
                }
            }
            advance()
            moved = true
        }
    }

    /// After an error inside a class or instance body: skip past the broken element's `;`,
    /// or stop at the `}` that closes the body.
    mutating func recoverInBody(bodyDepth: Int) {
        while true {
            let token = peek(0)
            if token.kind == .end { return }
            if braceDepth == bodyDepth, token.kind == .semicolon {
                advance()
                return
            }
            if braceDepth == bodyDepth, token.kind == .rightBrace { return }
            if braceDepth < bodyDepth { return }
            advance()
        }
    }

    // MARK: File

    mutating func parseFile() -> [Production] {
        var productions: [Production] = []
        while peek(0).kind != .end, !log.isFull, !lexer.log.isFull {
            let depth = braceDepth
            do throws(Abort) {
                try parseProduction(into: &productions)
            } catch {
                recoverTopLevel(startDepth: depth)
            }
        }
        return productions
    }

    mutating func parseProduction(into productions: inout [Production]) throws(Abort) {
        let token = peek(0)
        if token.kind == .pragma {
            if let production = try parsePragma() { productions.append(production) }
            return
        }
        var qualifiers: [QualifierSyntax] = []
        if token.kind == .leftBracket {
            qualifiers = try parseQualifierList()
            if atWord("class") {
                productions.append(.classDeclaration(try parseClass(qualifiers: qualifiers)))
            } else if atWord("instance") {
                productions.append(.instanceDeclaration(try parseInstance(qualifiers: qualifiers)))
            } else {
                throw expected("'class' or 'instance'", context: "after a qualifier list")
            }
            return
        }
        if atWord("class") {
            productions.append(.classDeclaration(try parseClass(qualifiers: [])))
        } else if atWord("instance") {
            productions.append(.instanceDeclaration(try parseInstance(qualifiers: [])))
        } else if atWord("qualifier") {
            productions.append(.qualifierDeclaration(try parseQualifierDeclaration()))
        } else {
            throw expected("a class, instance or qualifier declaration or a #pragma")
        }
    }
}
