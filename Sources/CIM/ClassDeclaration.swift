/// A resolved CIM class: its own and its inherited properties, methods and qualifiers.
///
/// `properties` and `methods` are in inheritance order: the superclass's elements first (an
/// override keeps the position of the element it overrides), then this class's new elements in
/// declaration order.
public struct ClassDeclaration: Sendable, Hashable {
    public var name: String
    public var superclass: String?
    public var qualifiers: QualifierList
    public var properties: [Property]
    public var methods: [Method]
    /// The namespace set by `#pragma namespace` where the class was declared, if any.
    public var namespace: String?
    public var location: SourceLocation?

    public init(
        name: String, superclass: String? = nil, qualifiers: QualifierList = QualifierList(),
        properties: [Property] = [], methods: [Method] = [], namespace: String? = nil, location: SourceLocation? = nil
    ) {
        self.name = name
        self.superclass = superclass
        self.qualifiers = qualifiers
        self.properties = properties
        self.methods = methods
        self.namespace = namespace
        self.location = location
    }

    public var isAssociation: Bool { qualifiers.isTrue("Association") }
    public var isIndication: Bool { qualifiers.isTrue("Indication") }
    public var isAbstract: Bool { qualifiers.isTrue("Abstract") }
    public var description: String? { qualifiers.string("Description") }

    /// The key properties, in inheritance order.
    public var keys: [Property] { properties.filter(\.isKey) }

    /// The reference properties (the roles of an association), in inheritance order.
    public var references: [Property] { properties.filter(\.isReference) }

    /// The properties declared or overridden in this class.
    public var localProperties: [Property] { properties.filter { !$0.propagated } }

    public func property(named name: String) -> Property? {
        properties.first { sameName($0.name, name) }
    }

    public func method(named name: String) -> Method? {
        methods.first { sameName($0.name, name) }
    }
}

/// An instance declared in MOF (`instance of ... { ... };`).
public struct Instance: Sendable, Hashable {
    public var className: String
    /// The `$alias` it was declared with, without the dollar sign.
    public var alias: String?
    /// Property values in declaration order, names as spelled by the class.
    public var properties: [(name: String, value: Value)]
    public var qualifiers: QualifierList
    public var location: SourceLocation?

    public init(
        className: String, alias: String? = nil, properties: [(name: String, value: Value)] = [],
        qualifiers: QualifierList = QualifierList(), location: SourceLocation? = nil
    ) {
        self.className = className
        self.alias = alias
        self.properties = properties
        self.qualifiers = qualifiers
        self.location = location
    }

    public func value(of name: String) -> Value? {
        properties.first { sameName($0.name, name) }?.value
    }

    public static func == (a: Instance, b: Instance) -> Bool {
        a.className == b.className && a.alias == b.alias && a.qualifiers == b.qualifiers
            && a.properties.count == b.properties.count
            && zip(a.properties, b.properties).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(className)
        hasher.combine(alias)
        for (name, value) in properties {
            hasher.combine(name)
            hasher.combine(value)
        }
    }
}
