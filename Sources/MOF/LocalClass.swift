import CIM

/// What a class declares itself, checked without its superclasses: its qualifiers, and its
/// properties and methods with their own qualifiers and default values. Computed for all
/// classes in parallel; inheritance is merged afterwards, in order (`Resolver+Classes`).
struct LocalClass: Sendable {
    var qualifiers = QualifierList()
    var properties: [(property: Property, syntax: PropertySyntax)] = []
    var methods: [(method: Method, syntax: MethodSyntax)] = []
    var diagnostics: [Diagnostic] = []
}

extension Checker {
    /// Checks a class's own declarations. `isAssociation` and `isIndication` include what the
    /// class inherits: they decide the scope its qualifiers need.
    mutating func checkLocal(_ syntax: ClassSyntax, file: SourceFile, isAssociation: Bool, isIndication: Bool) -> LocalClass {
        var local = LocalClass()
        let scope: Scope = isAssociation ? .association : isIndication ? .indication : .class
        local.qualifiers = qualifiers(syntax.qualifiers, scope: scope, element: "class \(syntax.name)", file: file)

        var propertyOffsets: [NameKey: Int] = [:]
        for p in syntax.properties {
            let key = NameKey(p.name)
            if let first = propertyOffsets[key] {
                error(
                    "duplicate property '\(p.name)' in class \(syntax.name) (first declared at line \(file.location(of: first).line))", file, p.offset
                )
                continue
            }
            propertyOffsets[key] = p.offset
            let isReference = p.type.type == .reference
            let element = { "\(isReference ? "reference" : "property") \(syntax.name).\(p.name)" }
            let q = qualifiers(p.qualifiers, scope: isReference ? .reference : .property, element: element(), file: file)
            if isReference {
                if !isAssociation {
                    error("reference \(p.name) is only allowed in an association, and class \(syntax.name) is not one", file, p.offset)
                }
                if let target = p.type.referenceClass, !classNames.contains(NameKey(target)) {
                    error("unknown class '\(target)' referenced by \(syntax.name).\(p.name)", file, p.type.offset)
                }
            }
            var defaultValue = Value.null
            if let literal = p.defaultValue {
                defaultValue =
                    convert(
                        literal, to: p.type.type, isArray: p.isArray, arraySize: p.arraySize,
                        referenceClass: p.type.referenceClass, what: "the default value of \(syntax.name).\(p.name)",
                        file: file) ?? .null
            }
            let property = Property(
                name: p.name, type: p.type.type, isArray: p.isArray, arraySize: p.arraySize,
                referenceClass: p.type.referenceClass, classOrigin: syntax.name, propagated: false,
                defaultValue: defaultValue, qualifiers: q, location: file.location(of: p.offset))
            local.properties.append((property, p))
        }

        var methodOffsets: [NameKey: Int] = [:]
        for m in syntax.methods {
            let key = NameKey(m.name)
            if let first = methodOffsets[key] {
                error(
                    "duplicate method '\(m.name)' in class \(syntax.name) (first declared at line \(file.location(of: first).line))", file, m.offset)
                continue
            }
            methodOffsets[key] = m.offset
            let q = qualifiers(m.qualifiers, scope: .method, element: "method \(syntax.name).\(m.name)", file: file)
            var parameters: [Parameter] = []
            var parameterOffsets: Set<NameKey> = []
            for p in m.parameters {
                guard parameterOffsets.insert(NameKey(p.name)).inserted else {
                    error("duplicate parameter '\(p.name)' in method \(syntax.name).\(m.name)", file, p.offset)
                    continue
                }
                if let target = p.type.referenceClass, !classNames.contains(NameKey(target)) {
                    error("unknown class '\(target)' referenced by parameter \(p.name) of \(syntax.name).\(m.name)", file, p.type.offset)
                }
                let pq = qualifiers(p.qualifiers, scope: .parameter, element: "parameter \(p.name) of \(syntax.name).\(m.name)", file: file)
                parameters.append(
                    Parameter(
                        name: p.name, type: p.type.type, isArray: p.isArray, arraySize: p.arraySize,
                        referenceClass: p.type.referenceClass, qualifiers: pq))
            }
            if let target = m.returnType.referenceClass, !classNames.contains(NameKey(target)) {
                error("unknown class '\(target)' returned by \(syntax.name).\(m.name)", file, m.returnType.offset)
            }
            let method = Method(
                name: m.name, returnType: m.returnType.type, returnReferenceClass: m.returnType.referenceClass,
                classOrigin: syntax.name, propagated: false, qualifiers: q, parameters: parameters,
                location: file.location(of: m.offset))
            local.methods.append((method, m))
        }
        return local
    }
}
