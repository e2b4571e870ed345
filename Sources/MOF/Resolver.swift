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

    /// Every class declaration, in declaration order, and its index by name. Later passes
    /// work on indexes: name lookups were a fifth of the resolver's time in profiles.
    var entries: [ClassEntry] = []
    var indexOf: [NameKey: Int] = [:]
    /// The index of each class's declared superclass, nil for roots and unknown superclasses.
    var superIndex: [Int?] = []

    struct ClassEntry: Sendable {
        var syntax: ClassSyntax
        var file: SourceFile
        var namespace: String?
    }

    mutating func resolve(_ declarations: [Declaration]) -> Model {
        for declaration in declarations {
            switch declaration.production {
            case .qualifierDeclaration(let syntax):
                declareQualifier(syntax, in: declaration.file)
            case .classDeclaration(let syntax):
                let key = NameKey(syntax.name)
                if let first = indexOf[key].map({ entries[$0] }) {
                    error(
                        "class '\(syntax.name)' is already declared at \(first.file.location(of: first.syntax.offset))", declaration.file,
                        syntax.offset)
                } else {
                    indexOf[key] = entries.count
                    entries.append(ClassEntry(syntax: syntax, file: declaration.file, namespace: declaration.namespace))
                }
            case .instanceDeclaration(let syntax):
                if let alias = syntax.alias { checker.declaredAliases.insert(alias) }
            default:
                break
            }
        }
        superIndex = entries.map { entry in entry.syntax.superclass.flatMap { indexOf[NameKey($0)] } }
        checker.classNames = Set(indexOf.keys)
        log.append(contentsOf: checker.log)
        checker.log = DiagnosticLog()

        let locals = checkLocals()
        let plan = planInheritance()
        resolveClasses(plan, locals: locals)

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
    private func checkLocals() -> [LocalClass] {
        let kinds = classKinds()
        let entries = self.entries
        let checker = self.checker
        let results = ParallelResults<LocalClass>(count: entries.count)
        DispatchQueue.concurrentPerform(iterations: entries.count) { i in
            var local = checker
            var result = local.checkLocal(
                entries[i].syntax, file: entries[i].file,
                isAssociation: kinds[i].association, isIndication: kinds[i].indication)
            result.diagnostics = local.log.diagnostics
            results.set(i, result)
        }
        return results.values.map { $0! }
    }

    /// Whether each class is an association or an indication, locally or by inheritance:
    /// that decides the scope its own qualifiers need. Iterative over superclass chains.
    private func classKinds() -> [(association: Bool, indication: Bool)] {
        var kinds: [(association: Bool, indication: Bool)?] = Array(repeating: nil, count: entries.count)
        for start in entries.indices {
            var chain: [Int] = []
            var inChain: Set<Int> = []
            var current: Int? = start
            while let i = current, kinds[i] == nil, inChain.insert(i).inserted {
                chain.append(i)
                current = superIndex[i]
            }
            var inherited = current.flatMap { kinds[$0] } ?? (false, false)
            for i in chain.reversed() {
                let qualifiers = entries[i].syntax.qualifiers
                func locallyTrue(_ name: String) -> Bool {
                    guard let q = qualifiers.first(where: { sameName($0.name, name) }) else { return false }
                    if case .boolean(false)? = q.value?.literal { return false }
                    return true
                }
                inherited = (locallyTrue("Association") || inherited.association, locallyTrue("Indication") || inherited.indication)
                kinds[i] = inherited
            }
        }
        return kinds.map { $0 ?? (false, false) }
    }

    /// The order in which classes resolve (every superclass first) and each class's
    /// inheritance depth; reports inheritance cycles. Iterative: chains of any depth.
    struct InheritancePlan {
        var order: [Int] = []
        /// The superclass each class resolves on top of (nil: root, unknown, or in a cycle).
        var parent: [Int?]
        var depth: [Int]
        var failed: [Bool]
    }

    private mutating func planInheritance() -> InheritancePlan {
        var plan = InheritancePlan(
            parent: superIndex, depth: Array(repeating: -1, count: entries.count),
            failed: Array(repeating: false, count: entries.count))
        var planned = Array(repeating: false, count: entries.count)
        for start in entries.indices where !planned[start] {
            var chain: [Int] = []
            var inChain: Set<Int> = []
            var current: Int? = start
            while let i = current, !planned[i] {
                if !inChain.insert(i).inserted {
                    // The chain closed on itself: the last class's superclass completes the cycle.
                    let last = chain.removeLast(), syntax = entries[last].syntax
                    error(
                        "class \(syntax.name) inherits from itself (through \(syntax.superclass ?? "?"))",
                        entries[last].file, syntax.superclassOffset)
                    plan.failed[last] = true
                    planned[last] = true
                    break
                }
                chain.append(i)
                current = superIndex[i]
            }
            for i in chain.reversed() {
                planned[i] = true
                if let p = plan.parent[i], plan.failed[p] { plan.parent[i] = nil }
                plan.depth[i] = plan.parent[i].map { plan.depth[$0] + 1 } ?? 0
                plan.order.append(i)
            }
        }
        return plan
    }

    /// Pass 3: inheritance, one depth level at a time, the classes of a level in parallel.
    /// Diagnostics and the model come out in the sequential resolution order.
    private mutating func resolveClasses(_ plan: InheritancePlan, locals: [LocalClass]) {
        let results = ParallelResults<(ClassDeclaration, [Diagnostic])>(count: entries.count)
        var levels: [[Int]] = []
        for i in plan.order {
            while levels.count <= plan.depth[i] { levels.append([]) }
            levels[plan.depth[i]].append(i)
        }
        let template = Inheritance(entries: entries, indexOf: indexOf)
        for level in levels {
            let work = { @Sendable (n: Int) in
                let i = level[n]
                var inheritance = template
                let superclass = plan.parent[i].flatMap { results.get($0)?.0 }
                let resolved = inheritance.resolve(i, local: locals[i], superclass: superclass)
                results.set(i, (resolved, inheritance.log.diagnostics))
            }
            if level.count > 16 {
                DispatchQueue.concurrentPerform(iterations: level.count, execute: work)
            } else {
                for n in level.indices { work(n) }
            }
        }
        for i in plan.order {
            for d in locals[i].diagnostics { log.report(d) }
            guard !plan.failed[i], let (resolved, diagnostics) = results.get(i) else { continue }
            for d in diagnostics { log.report(d) }
            model.add(resolved)
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
            defaultValue =
                checker.convert(
                    literal, to: syntax.type.type, isArray: syntax.isArray, arraySize: syntax.arraySize,
                    referenceClass: nil, what: "the default value of qualifier \(syntax.name)", file: file) ?? .null
        }
        let declaration = QualifierDeclaration(
            name: syntax.name, type: syntax.type.type, isArray: syntax.isArray, arraySize: syntax.arraySize,
            defaultValue: defaultValue, scope: scope, flavor: flavor, location: file.location(of: syntax.offset))
        if let existing = model.qualifierDeclaration(named: syntax.name) {
            var same = existing
            same.location = declaration.location
            if same != declaration {
                error(
                    "qualifier '\(syntax.name)' is already declared differently at \(existing.location.map(\.description) ?? "?")", file,
                    syntax.offset)
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
