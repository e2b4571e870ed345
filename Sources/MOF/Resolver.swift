import CIM
import Dispatch
import Foundation

/// Turns parsed declarations into a resolved `Model` (DSP0004 §5): checks every qualifier
/// against its declaration (existence, scope, type, flavor), resolves inheritance of
/// properties, methods and qualifiers with the flavor rules and overrides, and instances with
/// their aliases. Reports every problem it finds and goes on with the rest.
///
/// Four passes: (1) qualifier declarations and the class table; (2) every class's own
/// declarations, checked in parallel (`LocalClass`); (3) inheritance, class by class with each
/// superclass first; (4) instances in source order.
struct Resolver {
    var log = DiagnosticLog()
    var model = Model()
    var checker = Checker()

    /// Every class declaration by folded name, before resolution.
    var classSyntax: [NameKey: ClassEntry] = [:]
    var state: [NameKey: ClassState] = [:]
    var locals: [NameKey: LocalClass] = [:]

    struct ClassEntry: Sendable {
        var syntax: ClassSyntax
        var file: SourceFile
        var namespace: String?
    }

    enum ClassState { case resolved, failed }

    mutating func resolve(_ declarations: [Declaration]) -> Model {
        var classOrder: [NameKey] = []
        for declaration in declarations {
            switch declaration.production {
            case .qualifierDeclaration(let syntax):
                declareQualifier(syntax, in: declaration.file)
            case .classDeclaration(let syntax):
                let key = NameKey(syntax.name)
                if let first = classSyntax[key] {
                    error("class '\(syntax.name)' is already declared at \(first.file.location(of: first.syntax.offset))", declaration.file, syntax.offset)
                } else {
                    classSyntax[key] = ClassEntry(syntax: syntax, file: declaration.file, namespace: declaration.namespace)
                    classOrder.append(key)
                }
            case .instanceDeclaration(let syntax):
                if let alias = syntax.alias { checker.declaredAliases.insert(alias) }
            default:
                break
            }
        }
        checker.classNames = Set(classSyntax.keys)
        log.append(contentsOf: checker.log)
        checker.log = DiagnosticLog()

        checkLocals(classOrder)
        for key in classOrder { resolveClass(key) }

        for declaration in declarations {
            if case .instanceDeclaration(let syntax) = declaration.production {
                resolveInstance(syntax, in: declaration.file)
            }
        }
        log.append(contentsOf: checker.log)
        return model
    }

    mutating func error(_ message: String, _ file: SourceFile, _ offset: Int) {
        log.error(message, in: file, at: offset)
    }

    /// Pass 2: each class's own declarations, checked in parallel.
    private mutating func checkLocals(_ order: [NameKey]) {
        var memo: [NameKey: (association: Bool, indication: Bool)] = [:]
        for key in order { kind(of: key, memo: &memo) }
        let kinds = memo
        let entries = order.map { classSyntax[$0]! }
        let checker = self.checker
        let results = ParallelResults<LocalClass>(count: entries.count)
        DispatchQueue.concurrentPerform(iterations: entries.count) { i in
            var local = checker
            let entry = entries[i]
            let k = kinds[NameKey(entry.syntax.name)] ?? (false, false)
            var result = local.checkLocal(entry.syntax, file: entry.file, isAssociation: k.association, isIndication: k.indication)
            result.diagnostics = local.log.diagnostics
            results.set(i, result)
        }
        for (i, key) in order.enumerated() { locals[key] = results.get(i) }
    }

    /// Whether a class is an association or an indication, locally or by inheritance.
    /// Iterative over the superclass chain (any depth), memoized.
    private func kind(of key: NameKey, memo: inout [NameKey: (association: Bool, indication: Bool)]) {
        var chain: [NameKey] = []
        var inChain: Set<NameKey> = []
        var current: NameKey? = key
        while let k = current, memo[k] == nil, let entry = classSyntax[k], inChain.insert(k).inserted {
            chain.append(k)
            current = entry.syntax.superclass.map(NameKey.init)
        }
        var inherited = current.flatMap { memo[$0] } ?? (false, false)
        for k in chain.reversed() {
            let syntax = classSyntax[k]!.syntax
            func locallyTrue(_ name: String) -> Bool {
                guard let q = syntax.qualifiers.first(where: { sameName($0.name, name) }) else { return false }
                if case .boolean(false)? = q.value?.literal { return false }
                return true
            }
            inherited = (locallyTrue("Association") || inherited.association, locallyTrue("Indication") || inherited.indication)
            memo[k] = inherited
        }
    }

    // MARK: Qualifier declarations

    mutating func declareQualifier(_ syntax: QualifierDeclarationSyntax, in file: SourceFile) {
        var scope = Scope()
        for (s, offset) in syntax.scopes {
            if scope.contains(s) { error("scope '\(s.keywordNames.first ?? "")' is listed twice", file, offset) }
            scope.formUnion(s)
        }
        let flavor = checker.flavorSpecification(syntax.flavors, file: file).applied(to: .default)
        var defaultValue = Value.null
        if let literal = syntax.defaultValue {
            defaultValue = checker.convert(literal, to: syntax.type.type, isArray: syntax.isArray, arraySize: syntax.arraySize,
                                           referenceClass: nil, what: "the default value of qualifier \(syntax.name)", file: file) ?? .null
        }
        let declaration = QualifierDeclaration(
            name: syntax.name, type: syntax.type.type, isArray: syntax.isArray, arraySize: syntax.arraySize,
            defaultValue: defaultValue, scope: scope, flavor: flavor, location: file.location(of: syntax.offset))
        if let existing = model.qualifierDeclaration(named: syntax.name) {
            var same = existing
            same.location = declaration.location
            if same != declaration {
                error("qualifier '\(syntax.name)' is already declared differently at \(existing.location.map(\.description) ?? "?")", file, syntax.offset)
            }
            return
        }
        model.add(declaration)
        checker.qualifierTable[NameKey(declaration.name)] = Checker.QualifierBox(declaration)
    }
}

/// Slots written by parallel workers, each slot by exactly one worker.
final class ParallelResults<T: Sendable>: @unchecked Sendable {
    private var storage: [T?]
    private let lock = NSLock()
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: T) { lock.withLock { storage[index] = value } }
    func get(_ index: Int) -> T? { lock.withLock { storage[index] } }
    var values: [T?] { lock.withLock { storage } }
}
