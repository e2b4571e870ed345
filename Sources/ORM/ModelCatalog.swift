public import CIM
public import SQLCore

/// A property as the database stores it: its column and its CIM type.
public struct PropertyMapping: Sendable, Hashable {
    public var name: String
    public var column: String
    /// The column, for statements.
    public var sqlColumn: SQLIdentifier { SQLIdentifier(column) }
    public var type: DataType
    public var isArray: Bool
    public var arraySize: Int?
    public var isKey: Bool
    public var referenceClass: String?
    public var classOrigin: String
    public var maxLength: Int?
    public var description: String?

    public init(
        name: String, column: String, type: DataType, isArray: Bool, arraySize: Int? = nil, isKey: Bool,
        referenceClass: String? = nil, classOrigin: String, maxLength: Int? = nil, description: String? = nil
    ) {
        self.name = name
        self.column = column
        self.type = type
        self.isArray = isArray
        self.arraySize = arraySize
        self.isKey = isKey
        self.referenceClass = referenceClass
        self.classOrigin = classOrigin
        self.maxLength = maxLength
        self.description = description
    }

    public init(_ p: Property) {
        self.init(
            name: p.name, column: SQLNames.column(for: p.name), type: p.type, isArray: p.isArray, arraySize: p.arraySize,
            isKey: p.isKey, referenceClass: p.referenceClass, classOrigin: p.classOrigin, maxLength: p.maxLength,
            description: p.description)
    }

    public var isReference: Bool { type == .reference }
    public var columnType: ColumnType { ColumnType(type: type, isArray: isArray) }
}

/// A class as the database stores it: its table and its resolved properties.
public struct ClassMapping: Sendable, Hashable {
    public var name: String
    public var table: String
    public var superclass: String?
    public var depth: Int
    public var isAbstract: Bool
    public var isAssociation: Bool
    public var isIndication: Bool
    public var description: String?
    /// Resolved properties, inherited first, in the class's order.
    public var properties: [PropertyMapping] { didSet { propertyIndex = Self.index(properties) } }
    /// Position of each property by name (case-insensitive): ingest looks up a property per
    /// field, and classes have dozens.
    private var propertyIndex: [NameKey: Int]

    public init(
        name: String, table: String, superclass: String?, depth: Int, isAbstract: Bool, isAssociation: Bool,
        isIndication: Bool, description: String?, properties: [PropertyMapping]
    ) {
        self.name = name
        self.table = table
        self.superclass = superclass
        self.depth = depth
        self.isAbstract = isAbstract
        self.isAssociation = isAssociation
        self.isIndication = isIndication
        self.description = description
        self.properties = properties
        self.propertyIndex = Self.index(properties)
    }

    private static func index(_ properties: [PropertyMapping]) -> [NameKey: Int] {
        var index: [NameKey: Int] = [:]
        for (i, p) in properties.enumerated() where index[NameKey(p.name)] == nil { index[NameKey(p.name)] = i }
        return index
    }

    public var keys: [PropertyMapping] { properties.filter(\.isKey) }

    /// The schema-qualified table, quoted where needed (for generated DDL text).
    public var qualifiedTable: String { SQLNames.modelSchema + "." + SQLNames.quoted(table) }
    /// The schema-qualified table, for statements.
    public var sqlTable: SQLIdentifier { SQLIdentifier(table, schema: SQLNames.modelSchema) }

    public func property(named name: String) -> PropertyMapping? {
        propertyIndex[NameKey(name)].map { properties[$0] }
    }
}

/// The installed model, as recorded in `cimdb.model_class` and `cimdb.model_property`: what
/// the instance commands, ingest and schema evolution work from (no MOF needed at run time).
public struct ModelCatalog: Sendable {
    public private(set) var classes: [ClassMapping] = []
    private var index: [NameKey: Int] = [:]

    public init(classes: [ClassMapping]) {
        for c in classes {
            index[NameKey(c.name)] = self.classes.count
            self.classes.append(c)
        }
    }

    /// The catalog a resolved model would install.
    public init(model: Model) {
        self.init(
            classes: model.classes.map { cls in
                ClassMapping(
                    name: cls.name, table: SQLNames.table(for: cls.name), superclass: cls.superclass,
                    depth: model.ancestors(of: cls.name).count, isAbstract: cls.isAbstract, isAssociation: cls.isAssociation,
                    isIndication: cls.isIndication, description: cls.description, properties: cls.properties.map(PropertyMapping.init))
            })
    }

    public func `class`(named name: String) -> ClassMapping? {
        index[NameKey(name)].map { classes[$0] }
    }

    public var isEmpty: Bool { classes.isEmpty }

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
}
