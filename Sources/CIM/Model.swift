/// A resolved CIM model: what the MOF compiler produces and every later stage consumes
/// (schema generation, the Swift emitter, the inventory configuration checks).
///
/// Classes are kept in resolution order — every superclass before its subclasses — and are
/// looked up case-insensitively.
public struct Model: Sendable {
    public private(set) var qualifierDeclarations: [QualifierDeclaration] = []
    public private(set) var classes: [ClassDeclaration] = []
    public var instances: [Instance] = []

    private var qualifierIndex: [NameKey: Int] = [:]
    private var classIndex: [NameKey: Int] = [:]

    public init() {}

    public init(qualifierDeclarations: [QualifierDeclaration], classes: [ClassDeclaration], instances: [Instance] = []) {
        for declaration in qualifierDeclarations { add(declaration) }
        for declaration in classes { add(declaration) }
        self.instances = instances
    }

    public mutating func add(_ declaration: QualifierDeclaration) {
        let key = NameKey(declaration.name)
        if let index = qualifierIndex[key] {
            qualifierDeclarations[index] = declaration
        } else {
            qualifierIndex[key] = qualifierDeclarations.count
            qualifierDeclarations.append(declaration)
        }
    }

    /// Adds a resolved class; its superclass must already be in the model.
    public mutating func add(_ declaration: ClassDeclaration) {
        let key = NameKey(declaration.name)
        if let index = classIndex[key] {
            classes[index] = declaration
        } else {
            classIndex[key] = classes.count
            classes.append(declaration)
        }
    }

    public func qualifierDeclaration(named name: String) -> QualifierDeclaration? {
        qualifierIndex[NameKey(name)].map { qualifierDeclarations[$0] }
    }

    public func `class`(named name: String) -> ClassDeclaration? {
        classIndex[NameKey(name)].map { classes[$0] }
    }

    /// Whether `name` is `ancestor` or one of its subclasses.
    public func isClass(_ name: String, kindOf ancestor: String) -> Bool {
        var current: String? = name
        var steps = 0
        while let c = current, steps <= classes.count {
            if sameName(c, ancestor) { return true }
            current = self.class(named: c)?.superclass
            steps += 1
        }
        return false
    }

    /// The superclass chain of a class, nearest first, not including the class itself.
    public func ancestors(of name: String) -> [ClassDeclaration] {
        var result: [ClassDeclaration] = []
        var current = self.class(named: name)?.superclass
        while let c = current, let declaration = self.class(named: c), result.count <= classes.count {
            result.append(declaration)
            current = declaration.superclass
        }
        return result
    }

    /// The direct subclasses of every class, keyed by folded class name.
    public func subclassIndex() -> [String: [String]] {
        var index: [String: [String]] = [:]
        for c in classes {
            if let s = c.superclass { index[foldedName(s), default: []].append(c.name) }
        }
        return index
    }

    /// Counts of what the model holds, as `cimdb mof check` reports them.
    public var statistics: Statistics {
        var s = Statistics()
        s.qualifierDeclarations = qualifierDeclarations.count
        s.classes = classes.count
        s.instances = instances.count
        for c in classes {
            if c.isAssociation { s.associations += 1 }
            if c.isIndication { s.indications += 1 }
            s.properties += c.properties.count
            s.keys += c.properties.lazy.filter(\.isKey).count
            s.methods += c.methods.count
        }
        return s
    }

    public struct Statistics: Sendable, Hashable, Codable {
        public var qualifierDeclarations = 0
        public var classes = 0
        public var associations = 0
        public var indications = 0
        public var instances = 0
        /// Resolved properties (inherited ones included) over all classes, references included.
        public var properties = 0
        public var keys = 0
        /// Resolved methods (inherited ones included) over all classes.
        public var methods = 0

        public init() {}
    }
}
