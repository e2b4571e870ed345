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
