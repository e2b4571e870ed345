import CIM

/// Pragmas, qualifier declarations, classes with their properties, references and methods,
/// and instances.
extension Parser {
    static let knownPragmas: Set<String> = [
        "include", "locale", "namespace", "instancelocale", "nonlocal", "nonlocaltype", "source", "sourcetype",
    ]

    /// `#pragma name ( "value" )`.
    mutating func parsePragma() throws(Abort) -> Production? {
        let pragma = advance()
        let (name, nameOffset) = try expectIdentifier("a pragma name", "after #pragma")
        try expect(.leftParen, "after #pragma \(name)")
        let value = try parseConstant(context: "as the #pragma \(name) argument")
        guard peek(0).kind == .rightParen else {
            throw fail("unterminated #pragma \(name): expected ')' after its argument, found \(describe(peek(0)))", at: pragma.start)
        }
        advance()
        let lower = name.lowercased()
        guard Self.knownPragmas.contains(lower) else {
            log.warning("unknown #pragma '\(name)' is ignored", in: file, at: nameOffset)
            return nil
        }
        guard case .string(let text) = value.literal else {
            if lower == "include" || lower == "namespace" {
                throw fail("#pragma \(name) takes a string", at: value.offset)
            }
            return nil
        }
        switch lower {
        case "include": return .include(path: text, offset: value.offset)
        case "namespace": return .namespace(text)
        default: return nil
        }
    }

    /// `[ qualifier, ... ]`
    mutating func parseQualifierList() throws(Abort) -> [QualifierSyntax] {
        try expect(.leftBracket)
        var qualifiers: [QualifierSyntax] = []
        repeat {
            qualifiers.append(try parseQualifier())
            guard peek(0).kind == .comma else { break }
            advance()
        } while true
        try expect(.rightBracket, "to close the qualifier list")
        return qualifiers
    }

    /// `Name [ "(" value ")" / "{" values "}" ] [ ":" flavor... ]`
    mutating func parseQualifier() throws(Abort) -> QualifierSyntax {
        let (name, offset) = try expectIdentifier("a qualifier name")
        var value: LiteralSyntax?
        switch peek(0).kind {
        case .leftParen:
            advance()
            value = try parseConstant(context: "as the value of qualifier \(name)")
            try expect(.rightParen, "after the value of qualifier \(name)")
        case .leftBrace:
            value = try parseArrayInitializer(context: "in the value of qualifier \(name)")
        default:
            break
        }
        var flavors: [FlavorSyntax] = []
        if peek(0).kind == .colon {
            advance()
            while peek(0).kind == .identifier { flavors.append(try parseFlavor()) }
            if flavors.isEmpty { throw expected("a flavor", context: "after ':' in qualifier \(name)") }
        }
        return QualifierSyntax(name: name, offset: offset, value: value, flavors: flavors)
    }

    /// One flavor keyword (the current token is an identifier).
    mutating func parseFlavor() throws(Abort) -> FlavorSyntax {
        let token = advance()
        guard let keyword = FlavorKeyword(keyword: file.text(token)) else {
            throw fail(
                "unknown flavor '\(file.text(token))' (expected EnableOverride, DisableOverride, ToSubclass, Restricted or Translatable)",
                at: token.start)
        }
        return FlavorSyntax(keyword: keyword, offset: token.start)
    }

    /// `Qualifier Name : type [array] [= default] , Scope(...) [, Flavor(...)] ;`
    mutating func parseQualifierDeclaration() throws(Abort) -> QualifierDeclarationSyntax {
        advance()
        let (name, offset) = try expectIdentifier("a qualifier name", "after 'Qualifier'")
        try expect(.colon, "after the qualifier name \(name)")
        let typeToken = peek(0)
        guard typeToken.kind == .identifier, let type = DataType(mofKeyword: file.text(typeToken)), type != .object else {
            throw expected("a data type", context: "for qualifier \(name)")
        }
        advance()
        let (isArray, arraySize) = try parseArraySuffix()
        var defaultValue: LiteralSyntax?
        if peek(0).kind == .equals {
            advance()
            defaultValue = try parseInitializer(context: "as the default value of qualifier \(name)")
        }
        try expect(.comma, "before Scope in qualifier declaration \(name)")
        try expectWord("scope", "in qualifier declaration \(name)")
        try expect(.leftParen, "after Scope")
        var scopes: [(scope: Scope, offset: Int)] = []
        repeat {
            let token = peek(0)
            guard token.kind == .identifier else { throw expected("a scope", context: "in Scope(...)") }
            guard let scope = Scope(keyword: file.text(token)) else {
                throw fail(
                    "unknown scope '\(file.text(token))' (expected class, association, indication, qualifier, property, reference, method, parameter or any)",
                    at: token.start)
            }
            advance()
            scopes.append((scope, token.start))
            guard peek(0).kind == .comma else { break }
            advance()
        } while true
        try expect(.rightParen, "to close Scope(...)")
        var flavors: [FlavorSyntax] = []
        if peek(0).kind == .comma {
            advance()
            try expectWord("flavor", "after Scope(...)")
            try expect(.leftParen, "after Flavor")
            repeat {
                guard peek(0).kind == .identifier else { throw expected("a flavor", context: "in Flavor(...)") }
                flavors.append(try parseFlavor())
                guard peek(0).kind == .comma else { break }
                advance()
            } while true
            try expect(.rightParen, "to close Flavor(...)")
        }
        try expect(.semicolon, "after the qualifier declaration \(name)")
        return QualifierDeclarationSyntax(
            name: name, offset: offset, type: TypeSyntax(type: type, referenceClass: nil, offset: typeToken.start),
            isArray: isArray, arraySize: arraySize, defaultValue: defaultValue, scopes: scopes, flavors: flavors)
    }

    /// `[ "[" [size] "]" ]`
    mutating func parseArraySuffix() throws(Abort) -> (isArray: Bool, size: Int?) {
        guard peek(0).kind == .leftBracket else { return (false, nil) }
        advance()
        var size: Int?
        let token = peek(0)
        if token.kind == .integer {
            advance()
            guard !token.flag, token.payload > 0, token.payload <= UInt64(Int32.max) else {
                throw fail("an array size must be a positive integer", at: token.start)
            }
            size = Int(token.payload)
        }
        try expect(.rightBracket, "to close the array brackets")
        return (true, size)
    }

    /// `class Name [: Superclass] { features } ;`
    mutating func parseClass(qualifiers: [QualifierSyntax]) throws(Abort) -> ClassSyntax {
        advance()
        let (name, offset) = try expectIdentifier("a class name", "after 'class'")
        var superclass: String?
        var superclassOffset = 0
        if peek(0).kind == .colon {
            advance()
            let (superName, superOffset) = try expectIdentifier("a superclass name", "after ':'")
            superclass = superName
            superclassOffset = superOffset
        }
        var syntax = ClassSyntax(
            qualifiers: qualifiers, name: name, offset: offset, superclass: superclass,
            superclassOffset: superclassOffset, properties: [], methods: [])
        try expect(.leftBrace, "to open the body of class \(name)")
        let bodyDepth = braceDepth
        while peek(0).kind != .rightBrace, peek(0).kind != .end {
            do throws(Abort) {
                try parseFeature(into: &syntax)
            } catch {
                recoverInBody(bodyDepth: bodyDepth)
                if braceDepth < bodyDepth {
                    if peek(0).kind == .semicolon { advance() }
                    return syntax
                }
            }
        }
        try expect(.rightBrace, "to close the body of class \(name)")
        try expect(.semicolon, "after the body of class \(name)")
        return syntax
    }

    /// A data type, or `ClassName REF`.
    mutating func parseType(context: String) throws(Abort) -> TypeSyntax {
        let token = peek(0)
        guard token.kind == .identifier else { throw expected("a data type", context: context) }
        // `ClassName REF name`; but `uint32 Ref;` is a property named Ref.
        if isWord(peek(1), "ref"), peek(2).kind == .identifier || DataType(mofKeyword: file.text(token)) == nil {
            advance()
            advance()
            return TypeSyntax(type: .reference, referenceClass: file.text(token), offset: token.start)
        }
        guard let type = DataType(mofKeyword: file.text(token)) else {
            throw fail("unknown data type '\(file.text(token))' (a reference is written 'ClassName REF name')", at: token.start)
        }
        advance()
        return TypeSyntax(type: type, referenceClass: nil, offset: token.start)
    }

    /// A property, reference or method of a class.
    mutating func parseFeature(into syntax: inout ClassSyntax) throws(Abort) {
        let qualifiers = peek(0).kind == .leftBracket ? try parseQualifierList() : []
        let type = try parseType(context: "for a property or method of class \(syntax.name)")
        let (name, offset) = try expectIdentifier("a property or method name")
        if peek(0).kind == .leftParen {
            advance()
            var parameters: [ParameterSyntax] = []
            if peek(0).kind != .rightParen {
                repeat {
                    parameters.append(try parseParameter(method: name))
                    guard peek(0).kind == .comma else { break }
                    advance()
                } while true
            }
            try expect(.rightParen, "to close the parameters of method \(name)")
            try expect(.semicolon, "after method \(name)")
            syntax.methods.append(MethodSyntax(qualifiers: qualifiers, name: name, offset: offset, returnType: type, parameters: parameters))
            return
        }
        let (isArray, arraySize) = try parseArraySuffix()
        var defaultValue: LiteralSyntax?
        if peek(0).kind == .equals {
            advance()
            defaultValue = try parseInitializer(context: "as the default value of \(name)")
        }
        try expect(.semicolon, "after property \(name)")
        syntax.properties.append(
            PropertySyntax(
                qualifiers: qualifiers, name: name, offset: offset, type: type, isArray: isArray, arraySize: arraySize,
                defaultValue: defaultValue))
    }

    mutating func parseParameter(method: String) throws(Abort) -> ParameterSyntax {
        let qualifiers = peek(0).kind == .leftBracket ? try parseQualifierList() : []
        let type = try parseType(context: "for a parameter of method \(method)")
        let (name, offset) = try expectIdentifier("a parameter name")
        let (isArray, arraySize) = try parseArraySuffix()
        var defaultValue: LiteralSyntax?
        if peek(0).kind == .equals {
            advance()
            defaultValue = try parseInitializer(context: "as the default value of parameter \(name)")
        }
        return ParameterSyntax(
            qualifiers: qualifiers, name: name, offset: offset, type: type, isArray: isArray, arraySize: arraySize,
            defaultValue: defaultValue)
    }

    /// `instance of ClassName [as $alias] { [qualifiers] Name = value; ... } ;`
    mutating func parseInstance(qualifiers: [QualifierSyntax]) throws(Abort) -> InstanceSyntax {
        advance()
        try expectWord("of", "after 'instance'")
        let (className, offset) = try expectIdentifier("a class name", "after 'instance of'")
        var syntax = InstanceSyntax(qualifiers: qualifiers, className: className, offset: offset, alias: nil, aliasOffset: 0, values: [])
        if atWord("as") {
            advance()
            let token = peek(0)
            guard token.kind == .alias else { throw expected("an alias such as $name", context: "after 'as'") }
            advance()
            syntax.alias = String(file.text(token).dropFirst())
            syntax.aliasOffset = token.start
        }
        try expect(.leftBrace, "to open the body of the instance of \(className)")
        let bodyDepth = braceDepth
        while peek(0).kind != .rightBrace, peek(0).kind != .end {
            do throws(Abort) {
                let valueQualifiers = peek(0).kind == .leftBracket ? try parseQualifierList() : []
                let (name, nameOffset) = try expectIdentifier("a property name", "in the instance of \(className)")
                try expect(.equals, "after property name \(name)")
                let value = try parseInitializer(context: "as the value of \(name)")
                try expect(.semicolon, "after the value of \(name)")
                syntax.values.append(PropertyValueSyntax(qualifiers: valueQualifiers, name: name, offset: nameOffset, value: value))
            } catch {
                recoverInBody(bodyDepth: bodyDepth)
                if braceDepth < bodyDepth {
                    if peek(0).kind == .semicolon { advance() }
                    return syntax
                }
            }
        }
        try expect(.rightBrace, "to close the instance of \(className)")
        try expect(.semicolon, "after the instance of \(className)")
        return syntax
    }
}
