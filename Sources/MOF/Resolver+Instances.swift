import CIM

/// Instances (pass 4): the class exists and is concrete, every value names a property of the
/// class once and has its type, aliases name earlier instances.
extension Resolver {
    mutating func resolveInstance(_ syntax: InstanceSyntax, in file: SourceFile) {
        guard let declaration = model.class(named: syntax.className) else {
            if indexOf[NameKey(syntax.className)] == nil {
                checker.error("unknown class '\(syntax.className)' in instance declaration", file, syntax.offset)
            }
            return
        }
        if declaration.isAbstract {
            checker.error("class \(declaration.name) is abstract and cannot have instances", file, syntax.offset)
        }
        let local = checker.qualifiers(syntax.qualifiers, scope: .class, element: "instance of \(declaration.name)", file: file)
        var values: [(name: String, value: Value)] = []
        var seen: [NameKey: Int] = [:]
        for v in syntax.values {
            guard let property = declaration.property(named: v.name) else {
                checker.error("class \(declaration.name) has no property '\(v.name)'", file, v.offset)
                continue
            }
            if let first = seen[NameKey(v.name)] {
                checker.error("property '\(v.name)' is set twice in this instance (first at line \(file.location(of: first).line))", file, v.offset)
                continue
            }
            seen[NameKey(v.name)] = v.offset
            _ = checker.qualifiers(
                v.qualifiers, scope: property.isReference ? .reference : .property,
                element: "\(declaration.name).\(property.name)", file: file)
            if let value = checker.convert(
                v.value, to: property.type, isArray: property.isArray, arraySize: property.arraySize,
                referenceClass: property.referenceClass, what: "\(declaration.name).\(property.name)", file: file)
            {
                values.append((property.name, value))
            }
        }
        let instance = Instance(
            className: declaration.name, alias: syntax.alias, properties: values,
            qualifiers: local, location: file.location(of: syntax.offset))
        if let alias = syntax.alias {
            if checker.aliases[alias] != nil {
                checker.error("alias $\(alias) is already defined", file, syntax.aliasOffset)
            } else {
                checker.aliases[alias] = Self.path(of: instance, in: declaration).description
            }
        }
        model.instances.append(instance)
    }

    /// The instance path from the key properties that the instance sets.
    static func path(of instance: Instance, in declaration: ClassDeclaration) -> InstancePath {
        let keys = declaration.keys.compactMap { key in instance.value(of: key.name).map { (key.name, $0) } }
        return InstancePath(className: declaration.name, keys: keys)
    }
}
