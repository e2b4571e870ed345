/// A property or reference of a resolved class (inherited or local).
public struct Property: Sendable, Hashable {
    public var name: String
    public var type: DataType
    public var isArray: Bool
    /// The fixed size of a fixed-size array (`uint8 Data[16]`), nil for variable arrays and scalars.
    public var arraySize: Int?
    /// For references, the class named in `ClassName REF`.
    public var referenceClass: String?
    /// The class that first declared this property; overrides keep the original origin.
    public var classOrigin: String
    /// True when inherited unchanged from a superclass; false when declared or overridden here.
    public var propagated: Bool
    public var defaultValue: Value
    public var qualifiers: QualifierList
    public var location: SourceLocation?

    public init(
        name: String, type: DataType, isArray: Bool = false, arraySize: Int? = nil, referenceClass: String? = nil,
        classOrigin: String, propagated: Bool = false, defaultValue: Value = .null,
        qualifiers: QualifierList = QualifierList(), location: SourceLocation? = nil
    ) {
        self.name = name
        self.type = type
        self.isArray = isArray
        self.arraySize = arraySize
        self.referenceClass = referenceClass
        self.classOrigin = classOrigin
        self.propagated = propagated
        self.defaultValue = defaultValue
        self.qualifiers = qualifiers
        self.location = location
    }

    /// Whether this property is (part of) the key of its class.
    public var isKey: Bool { qualifiers.isTrue("Key") }
    public var isReference: Bool { type == .reference }
    public var description: String? { qualifiers.string("Description") }
}

/// A method parameter, in declaration order.
public struct Parameter: Sendable, Hashable {
    public var name: String
    public var type: DataType
    public var isArray: Bool
    public var arraySize: Int?
    public var referenceClass: String?
    public var qualifiers: QualifierList

    public init(
        name: String, type: DataType, isArray: Bool = false, arraySize: Int? = nil,
        referenceClass: String? = nil, qualifiers: QualifierList = QualifierList()
    ) {
        self.name = name
        self.type = type
        self.isArray = isArray
        self.arraySize = arraySize
        self.referenceClass = referenceClass
        self.qualifiers = qualifiers
    }
}

/// A method of a resolved class (inherited or local).
public struct Method: Sendable, Hashable {
    public var name: String
    public var returnType: DataType
    /// For methods returning a reference, the class named in `ClassName REF`.
    public var returnReferenceClass: String?
    public var classOrigin: String
    public var propagated: Bool
    public var qualifiers: QualifierList
    public var parameters: [Parameter]
    public var location: SourceLocation?

    public init(
        name: String, returnType: DataType, returnReferenceClass: String? = nil, classOrigin: String,
        propagated: Bool = false, qualifiers: QualifierList = QualifierList(), parameters: [Parameter] = [],
        location: SourceLocation? = nil
    ) {
        self.name = name
        self.returnType = returnType
        self.returnReferenceClass = returnReferenceClass
        self.classOrigin = classOrigin
        self.propagated = propagated
        self.qualifiers = qualifiers
        self.parameters = parameters
        self.location = location
    }
}
