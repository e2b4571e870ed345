/// A property or reference of a resolved class (inherited or local).
///
/// A value type with copy-on-write storage: every class holds all its inherited properties
/// (33,744 in the DMTF schema), and a copy is one reference count instead of one per string
/// and list — the resolver copies every inherited property into every subclass.
public struct Property: Sendable, Hashable {
    struct Fields: Sendable, Hashable {
        var name: String
        var type: DataType
        var isArray: Bool
        var arraySize: Int?
        var referenceClass: String?
        var classOrigin: String
        var propagated: Bool
        var defaultValue: Value
        var qualifiers: QualifierList
        var location: SourceLocation?
    }

    /// Mutated only while uniquely referenced (see `update`), so sharing it is safe.
    final class Storage: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var storage: Storage

    private mutating func update(_ change: (inout Fields) -> Void) {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(storage.fields) }
        change(&storage.fields)
    }

    public init(
        name: String, type: DataType, isArray: Bool = false, arraySize: Int? = nil, referenceClass: String? = nil,
        classOrigin: String, propagated: Bool = false, defaultValue: Value = .null,
        qualifiers: QualifierList = QualifierList(), location: SourceLocation? = nil
    ) {
        storage = Storage(
            Fields(
                name: name, type: type, isArray: isArray, arraySize: arraySize, referenceClass: referenceClass,
                classOrigin: classOrigin, propagated: propagated, defaultValue: defaultValue, qualifiers: qualifiers,
                location: location))
    }

    public var name: String {
        get { storage.fields.name }
        set { update { $0.name = newValue } }
    }
    public var type: DataType {
        get { storage.fields.type }
        set { update { $0.type = newValue } }
    }
    public var isArray: Bool {
        get { storage.fields.isArray }
        set { update { $0.isArray = newValue } }
    }
    /// The fixed size of a fixed-size array (`uint8 Data[16]`), nil for variable arrays and scalars.
    public var arraySize: Int? {
        get { storage.fields.arraySize }
        set { update { $0.arraySize = newValue } }
    }
    /// For references, the class named in `ClassName REF`.
    public var referenceClass: String? {
        get { storage.fields.referenceClass }
        set { update { $0.referenceClass = newValue } }
    }
    /// The class that first declared this property; overrides keep the original origin.
    public var classOrigin: String {
        get { storage.fields.classOrigin }
        set { update { $0.classOrigin = newValue } }
    }
    /// True when inherited unchanged from a superclass; false when declared or overridden here.
    public var propagated: Bool {
        get { storage.fields.propagated }
        set { update { $0.propagated = newValue } }
    }
    public var defaultValue: Value {
        get { storage.fields.defaultValue }
        set { update { $0.defaultValue = newValue } }
    }
    public var qualifiers: QualifierList {
        get { storage.fields.qualifiers }
        set { update { $0.qualifiers = newValue } }
    }
    public var location: SourceLocation? {
        get { storage.fields.location }
        set { update { $0.location = newValue } }
    }

    public static func == (a: Property, b: Property) -> Bool {
        a.storage === b.storage || a.storage.fields == b.storage.fields
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(storage.fields) }

    /// Whether this property is (part of) the key of its class.
    public var isKey: Bool { storage.fields.qualifiers.isTrue("Key") }
    public var isReference: Bool { storage.fields.type == .reference }
    public var description: String? { storage.fields.qualifiers.string("Description") }

    /// This property as a subclass inherits it: propagated, with only its ToSubclass
    /// qualifiers. Shares storage when it already is (every level below the declaring one).
    public var inherited: Property {
        let fields = storage.fields
        if fields.propagated, fields.qualifiers.isInheritedForm { return self }
        var copy = self
        copy.update {
            $0.propagated = true
            $0.qualifiers = fields.qualifiers.inheritable
        }
        return copy
    }
}
