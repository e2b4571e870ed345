import CIM

/// Checks what can be checked of one element without looking at its superclasses: qualifier
/// uses (declared, in scope, not repeated, of the declared type, consistent flavors) and
/// literal values against declared types. The resolver runs one checker per class in
/// parallel; each collects its own diagnostics.
struct Checker: Sendable {
    /// Qualifier declarations by name, boxed: every qualifier use looks one up.
    var qualifierTable: [NameKey: QualifierBox] = [:]
    /// The names of all declared classes (for reference classes).
    var classNames: Set<NameKey> = []
    /// `$alias` (without the dollar) → the instance path of the instance it names.
    var aliases: [String: String] = [:]
    /// Every alias some instance declares, to tell "used too early" from "not defined".
    var declaredAliases: Set<String> = []
    var log = DiagnosticLog()

    /// What a qualifier use needs of its declaration, held by reference: uses are checked on
    /// several threads at once, and copying the declaration struct (and so retaining its
    /// strings from every thread) showed up in profiles.
    final class QualifierBox: Sendable {
        let name: String
        let type: DataType
        let isArray: Bool
        let arraySize: Int?
        let defaultValue: Value
        let scope: Scope
        let flavor: Flavor

        init(_ d: QualifierDeclaration) {
            name = d.name
            type = d.type
            isArray = d.isArray
            arraySize = d.arraySize
            defaultValue = d.defaultValue
            scope = d.scope
            flavor = d.flavor
        }
    }

    mutating func error(_ message: String, _ file: SourceFile, _ offset: Int) {
        log.error(message, in: file, at: offset)
    }

    /// The flavors written in a list, checking for contradictions (ToSubclass with Restricted,
    /// EnableOverride with DisableOverride).
    mutating func flavorSpecification(_ flavors: [FlavorSyntax], file: SourceFile) -> FlavorSpecification {
        var spec = FlavorSpecification()
        for f in flavors {
            switch f.keyword {
            case .toSubclass, .restricted:
                let value = f.keyword == .toSubclass
                if let previous = spec.toSubclass, previous != value {
                    error("conflicting flavors: ToSubclass and Restricted", file, f.offset)
                }
                spec.toSubclass = value
            case .enableOverride, .disableOverride:
                let value = f.keyword == .enableOverride
                if let previous = spec.overridable, previous != value {
                    error("conflicting flavors: EnableOverride and DisableOverride", file, f.offset)
                }
                spec.overridable = value
            case .translatable:
                spec.translatable = true
            }
        }
        return spec
    }

    /// The qualifiers written on one element, checked and completed with their flavors.
    mutating func qualifiers(
        _ syntax: [QualifierSyntax], scope: Scope, element: @autoclosure () -> String, file: SourceFile
    ) -> QualifierList {
        var list = QualifierList()
        var offsets: [Int] = []
        for q in syntax {
            guard let declaration = qualifierTable[NameKey(q.name)] else {
                error("qualifier '\(q.name)' is not declared (missing a Qualifier declaration or an include of qualifiers.mof?)", file, q.offset)
                continue
            }
            if let index = list.index(named: q.name) {
                error(
                    "qualifier '\(q.name)' appears twice on \(element()) (first at column \(file.location(of: offsets[index]).column))", file,
                    q.offset)
                continue
            }
            if !declaration.scope.permits(scope) {
                error(
                    "qualifier '\(declaration.name)' cannot be used on \(element()): its scope is \(declaration.scope.keywordNames.joined(separator: ", ")), not \(Self.scopeNoun(scope))",
                    file, q.offset)
            }
            let value: Value
            if let literal = q.value {
                value =
                    convert(
                        literal, to: declaration.type, isArray: declaration.isArray, arraySize: declaration.arraySize,
                        referenceClass: nil, what: "qualifier \(declaration.name)", file: file) ?? declaration.defaultValue
            } else {
                value = declaration.type == .boolean && !declaration.isArray ? .boolean(true) : declaration.defaultValue
            }
            let flavor = q.flavors.isEmpty ? declaration.flavor : flavorSpecification(q.flavors, file: file).applied(to: declaration.flavor)
            list.append(Qualifier(name: declaration.name, value: value, flavor: flavor))
            offsets.append(q.offset)
        }
        return list
    }

    static func scopeNoun(_ scope: Scope) -> String {
        switch scope {
        case .association: "association"
        case .indication: "indication"
        case .class: "class"
        case .property: "property"
        case .reference: "reference"
        case .method: "method"
        case .parameter: "parameter"
        default: "element"
        }
    }
}
