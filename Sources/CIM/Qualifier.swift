/// A qualifier applied to a class, property, reference, method or parameter, with its value
/// and its effective flavor.
public struct Qualifier: Sendable, Hashable {
    /// The name as declared by the qualifier declaration (its canonical spelling).
    public var name: String
    public var value: Value
    public var flavor: Flavor
    /// True when the qualifier was inherited from a superclass or an overridden element
    /// rather than written on this element.
    public var propagated: Bool

    public init(name: String, value: Value, flavor: Flavor = .default, propagated: Bool = false) {
        self.name = name
        self.value = value
        self.flavor = flavor
        self.propagated = propagated
    }
}

/// The qualifiers of one element, in the order they were written (inherited ones after the
/// local ones), looked up case-insensitively.
public struct QualifierList: Sendable, Hashable, RandomAccessCollection {
    public private(set) var elements: [Qualifier]

    public init(_ elements: [Qualifier] = []) { self.elements = elements }

    public var startIndex: Int { elements.startIndex }
    public var endIndex: Int { elements.endIndex }
    public subscript(position: Int) -> Qualifier { elements[position] }

    /// The qualifier named `name`, if present.
    public subscript(name: String) -> Qualifier? {
        elements.first { sameName($0.name, name) }
    }

    public func index(named name: String) -> Int? {
        elements.firstIndex { sameName($0.name, name) }
    }

    /// The value of a qualifier, or nil when it is absent.
    public func value(_ name: String) -> Value? { self[name]?.value }

    /// Whether a boolean qualifier is present and true (e.g. `Key`, `Abstract`).
    public func isTrue(_ name: String) -> Bool { self[name]?.value.booleanValue == true }

    /// The string value of a qualifier such as `Description`.
    public func string(_ name: String) -> String? { self[name]?.value.stringValue }

    /// The string elements of an array qualifier such as `ValueMap`.
    public func strings(_ name: String) -> [String]? {
        guard let value = self[name]?.value, !value.isNull else { return nil }
        return value.arrayElements.map { $0.stringValue ?? $0.description }
    }

    public mutating func append(_ qualifier: Qualifier) { elements.append(qualifier) }

    public mutating func replace(at index: Int, with qualifier: Qualifier) { elements[index] = qualifier }

    /// Whether every qualifier is already an inherited, ToSubclass one (`inheritable` is itself).
    public var isInheritedForm: Bool {
        elements.allSatisfy { $0.flavor.toSubclass && $0.propagated }
    }

    /// The qualifiers a subclass or overriding element inherits: the ToSubclass ones, marked propagated.
    public var inheritable: QualifierList {
        // Already inherited lists (the common case deep in a hierarchy) are returned as they are.
        if isInheritedForm { return self }
        return QualifierList(
            elements.compactMap { q in
                guard q.flavor.toSubclass else { return nil }
                var copy = q
                copy.propagated = true
                return copy
            })
    }
}

/// A `Qualifier` declaration: the type, default, scope and default flavor of a qualifier.
public struct QualifierDeclaration: Sendable, Hashable {
    public var name: String
    public var type: DataType
    public var isArray: Bool
    public var arraySize: Int?
    public var defaultValue: Value
    public var scope: Scope
    public var flavor: Flavor
    public var location: SourceLocation?

    public init(
        name: String, type: DataType, isArray: Bool = false, arraySize: Int? = nil,
        defaultValue: Value = .null, scope: Scope, flavor: Flavor = .default, location: SourceLocation? = nil
    ) {
        self.name = name
        self.type = type
        self.isArray = isArray
        self.arraySize = arraySize
        self.defaultValue = defaultValue
        self.scope = scope
        self.flavor = flavor
        self.location = location
    }
}
