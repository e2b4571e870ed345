import CIM

/// Inheritance (pass 3 of `Resolver`): a class's resolved elements are its superclass's, with
/// the ToSubclass qualifiers propagated, overridden where the class says `Override`, followed
/// by its new elements. The class's own declarations were checked in pass 2 (`LocalClass`).
///
/// A value with read-only tables and its own diagnostics: classes whose superclasses are
/// resolved are resolved in parallel, one `Inheritance` each.
struct Inheritance: Sendable {
    let entries: [Resolver.ClassEntry]
    let indexOf: [NameKey: Int]
    var log = DiagnosticLog()

    mutating func error(_ message: String, _ file: SourceFile, _ offset: Int) {
        log.error(message, in: file, at: offset)
    }

    /// Resolves class `index` on top of its resolved superclass (nil for a root class, or when
    /// the superclass is unknown or could not be resolved).
    mutating func resolve(_ index: Int, local: LocalClass, superclass: ClassDeclaration?) -> ClassDeclaration {
        let entry = entries[index]
        let syntax = entry.syntax, file = entry.file
        if let superName = syntax.superclass, indexOf[NameKey(superName)] == nil {
            error("unknown superclass '\(superName)' of class \(syntax.name)", file, syntax.superclassOffset)
        }
        var resolved = ClassDeclaration(
            name: syntax.name, superclass: superclass?.name ?? syntax.superclass,
            qualifiers: local.qualifiers, namespace: entry.namespace, location: file.location(of: syntax.offset))
        if let superclass {
            resolved.qualifiers = merge(
                local: local.qualifiers, syntax: syntax.qualifiers, inherited: superclass.qualifiers.inheritable,
                from: superclass.name, element: "class \(syntax.name)", file: file)
            if local.qualifiers.isTrue("Association"), !superclass.isAssociation {
                error("association \(syntax.name) cannot derive from \(superclass.name), which is not an association", file, syntax.superclassOffset)
            }
        }
        resolved.properties = inheritProperties(local, syntax: syntax, file: file, superclass: superclass)
        resolved.methods = inheritMethods(local, syntax: syntax, file: file, superclass: superclass)

        if resolved.isAssociation, resolved.references.count < 2 {
            error("association \(syntax.name) must have at least two references, it has \(resolved.references.count)", file, syntax.offset)
        }
        return resolved
    }

    /// Combines an element's own qualifiers with those it inherits (already restricted to the
    /// ToSubclass ones). A DisableOverride qualifier may be restated but not changed.
    mutating func merge(
        local: QualifierList, syntax: [QualifierSyntax], inherited: QualifierList, from origin: String,
        element: @autoclosure () -> String, file: SourceFile
    ) -> QualifierList {
        if inherited.isEmpty { return local }
        var merged = local
        for q in inherited {
            if let index = local.index(named: q.name) {
                if !q.flavor.overridable {
                    if local[index].value != q.value {
                        let offset = syntax.first { sameName($0.name, q.name) }?.offset ?? 0
                        error(
                            "qualifier '\(q.name)' of \(element()) cannot be overridden: it is DisableOverride in \(origin) (value \(q.value), here \(local[index].value))",
                            file, offset)
                    }
                    // The restated value keeps the inherited, non-overridable flavor.
                    var restated = local[index]
                    restated.flavor.overridable = false
                    merged.replace(at: index, with: restated)
                }
            } else {
                merged.append(q)
            }
        }
        return merged
    }

    /// Whether class `name` is `ancestor` or derives from it, judged from the declarations.
    func derives(_ name: String, from ancestor: String) -> Bool {
        // Iterative, with a guard against cycles (they are reported elsewhere).
        var current: String? = name
        var seen: Set<NameKey> = []
        while let c = current {
            let key = NameKey(c)
            if sameName(c, ancestor) { return true }
            guard seen.insert(key).inserted else { return false }
            current = indexOf[key].map { entries[$0].syntax.superclass } ?? nil
        }
        return false
    }

    private mutating func inheritProperties(_ local: LocalClass, syntax: ClassSyntax, file: SourceFile, superclass: ClassDeclaration?) -> [Property] {
        var properties: [Property] = superclass?.properties.map(\.inherited) ?? []
        // Local elements are few (4.5 per class in the DMTF schema): a linear search of the
        // inherited ones is cheaper than hashing every inherited name into a table.
        let inheritedCount = properties.count
        for (declared, p) in local.properties {
            var property = declared
            let override = p.qualifiers.first { sameName($0.name, "Override") }
            if let superclass, let i = properties[..<inheritedCount].firstIndex(where: { sameName($0.name, p.name) }) {
                let inherited = superclass.properties[i]
                guard let override else {
                    error(
                        "property '\(p.name)' of class \(syntax.name) is already declared in \(inherited.classOrigin); mark it Override(\"\(inherited.name)\") to override it",
                        file, p.offset)
                    continue
                }
                checkOverrideTarget(override, name: p.name, file: file)
                if inherited.type != property.type {
                    error(
                        "override of \(syntax.name).\(p.name) changes its type from \(Self.typeName(inherited)) to \(Self.typeName(property))", file,
                        p.type.offset)
                } else if inherited.isArray != property.isArray {
                    error(
                        "override of \(syntax.name).\(p.name) changes it from \(inherited.isArray ? "an array" : "a scalar") to \(property.isArray ? "an array" : "a scalar")",
                        file, p.offset)
                } else if let old = inherited.referenceClass, let new = property.referenceClass, !sameName(old, new), !derives(new, from: old) {
                    error(
                        "override of reference \(syntax.name).\(p.name) changes its class from \(old) to \(new), which is not a subclass of \(old)",
                        file, p.type.offset)
                }
                property.classOrigin = inherited.classOrigin
                property.qualifiers = merge(
                    local: declared.qualifiers, syntax: p.qualifiers, inherited: inherited.qualifiers.inheritable,
                    from: superclass.name, element: "property \(syntax.name).\(p.name)", file: file)
                // An override redeclares the property: without `= value` it has no default (as in
                // pywbem and WMI; DSP0004 does not inherit the overridden default).
                properties[i] = property
            } else {
                if let override {
                    let target = Self.overrideTarget(override) ?? p.name
                    error(
                        "\(syntax.name).\(p.name) has Override(\"\(target)\") but no superclass of \(syntax.name) declares a property '\(target)'",
                        file, override.offset)
                }
                properties.append(property)
            }
        }
        return properties
    }

    private mutating func inheritMethods(_ local: LocalClass, syntax: ClassSyntax, file: SourceFile, superclass: ClassDeclaration?) -> [Method] {
        var methods: [Method] =
            superclass?.methods.map { m in
                var inherited = m
                inherited.propagated = true
                inherited.qualifiers = m.qualifiers.inheritable
                inherited.parameters = m.parameters.map { parameter in
                    var p = parameter
                    p.qualifiers = parameter.qualifiers.inheritable
                    return p
                }
                return inherited
            } ?? []
        let inheritedCount = methods.count
        for (declared, m) in local.methods {
            var method = declared
            let override = m.qualifiers.first { sameName($0.name, "Override") }
            if let superclass, let i = methods[..<inheritedCount].firstIndex(where: { sameName($0.name, m.name) }) {
                let inherited = superclass.methods[i]
                guard let override else {
                    error(
                        "method '\(m.name)' of class \(syntax.name) is already declared in \(inherited.classOrigin); mark it Override(\"\(inherited.name)\") to override it",
                        file, m.offset)
                    continue
                }
                checkOverrideTarget(override, name: m.name, file: file)
                if inherited.returnType != method.returnType {
                    error(
                        "override of method \(syntax.name).\(m.name) changes its return type from \(inherited.returnType.rawValue) to \(method.returnType.rawValue)",
                        file, m.returnType.offset)
                }
                for (pi, parameter) in method.parameters.enumerated() {
                    guard let old = inherited.parameters.first(where: { sameName($0.name, parameter.name) }) else { continue }
                    let parameterSyntax = m.parameters.first { sameName($0.name, parameter.name) }
                    if old.type != parameter.type || old.isArray != parameter.isArray {
                        error(
                            "override of method \(syntax.name).\(m.name) changes the type of parameter \(parameter.name)", file,
                            parameterSyntax?.offset ?? m.offset)
                    }
                    method.parameters[pi].qualifiers = merge(
                        local: parameter.qualifiers, syntax: parameterSyntax?.qualifiers ?? [], inherited: old.qualifiers.inheritable,
                        from: superclass.name, element: "parameter \(parameter.name) of \(syntax.name).\(m.name)", file: file)
                }
                method.classOrigin = inherited.classOrigin
                method.qualifiers = merge(
                    local: declared.qualifiers, syntax: m.qualifiers, inherited: inherited.qualifiers.inheritable,
                    from: superclass.name, element: "method \(syntax.name).\(m.name)", file: file)
                methods[i] = method
            } else {
                if let override {
                    let target = Self.overrideTarget(override) ?? m.name
                    error(
                        "\(syntax.name).\(m.name) has Override(\"\(target)\") but no superclass of \(syntax.name) declares a method '\(target)'",
                        file, override.offset)
                }
                methods.append(method)
            }
        }
        return methods
    }

    static func overrideTarget(_ q: QualifierSyntax) -> String? {
        if case .string(let s)? = q.value?.literal { return s }
        return nil
    }

    /// DSP0004 v2.x+: an overriding element carries the name of the element it overrides.
    private mutating func checkOverrideTarget(_ q: QualifierSyntax, name: String, file: SourceFile) {
        if let target = Self.overrideTarget(q), !sameName(target, name) {
            error("Override(\"\(target)\") on '\(name)' must name the element it overrides ('\(name)')", file, q.offset)
        }
    }

    static func typeName(_ p: Property) -> String {
        if let r = p.referenceClass { return "\(r) REF" }
        return p.type.rawValue + (p.isArray ? "[]" : "")
    }
}
