public import CIM
public import ORM
import SQLCore
public import Store

/// An instance read back from the database.
public struct StoredInstance: Sendable {
    public var id: Int64
    public var className: String
    public var path: String
    /// Non-key and key properties in the class's order; references as the referenced paths.
    public var values: [(name: String, value: Value)]
}

/// What went wrong with an instance operation, for the user (names class, property, path).
public struct InstanceError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure: callers branch on this, never on the message.
    public enum Code: Sendable, Hashable {
        case unknownClass, unknownProperty, duplicateProperty, invalidValue, abstractClass, missingKey
        case alreadyExists, invalidPath, wrongReferenceClass, notFound, registry
    }

    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// Adds, finds and removes instances of any class of the installed model, working from the
/// catalog: the operator's tool for objects no script discovers (racks, switches without an
/// agent), and the tests'. Values are checked against their CIM types before they reach SQL,
/// and reach it only as bind parameters.
public struct InstanceStore: Sendable {
    public var catalog: ModelCatalog

    public init(catalog: ModelCatalog) { self.catalog = catalog }

    func mapping(_ className: String) throws(InstanceError) -> ClassMapping {
        guard let cls = catalog.class(named: className) else {
            throw InstanceError(.unknownClass, "unknown class '\(className)' (not in the installed model)")
        }
        return cls
    }

    /// Adds an instance from `Name=Value` texts. A key named CreationClassName that is not
    /// given is set to the class name. References are instance paths of existing instances.
    @discardableResult
    public func add(className: String, assignments: [(name: String, text: String)], on connection: Connection) throws -> (id: Int64, path: String) {
        let cls = try mapping(className)
        var values: [(PropertyMapping, Value)] = []
        for (name, text) in assignments {
            guard let property = cls.property(named: name) else {
                throw InstanceError(.unknownProperty, "class \(cls.name) has no property '\(name)'")
            }
            if values.contains(where: { sameName($0.0.name, property.name) }) {
                throw InstanceError(.duplicateProperty, "property \(property.name) is given twice")
            }
            do {
                values.append((property, try ValueCoding.parse(text, for: property, of: cls.name)))
            } catch {
                throw InstanceError(.invalidValue, error.description)
            }
        }
        return try add(cls, values: values, on: connection)
    }

    /// Adds an instance from typed values (references: `.reference(path)` or `.string(path)`).
    @discardableResult
    public func add(className: String, values: [(name: String, value: Value)], on connection: Connection) throws -> (id: Int64, path: String) {
        let cls = try mapping(className)
        var typed: [(PropertyMapping, Value)] = []
        for (name, value) in values {
            guard let property = cls.property(named: name) else {
                throw InstanceError(.unknownProperty, "class \(cls.name) has no property '\(name)'")
            }
            typed.append((property, value))
        }
        return try add(cls, values: typed, on: connection)
    }

    private func add(_ cls: ClassMapping, values: [(PropertyMapping, Value)], on connection: Connection) throws -> (id: Int64, path: String) {
        if cls.isAbstract { throw InstanceError(.abstractClass, "class \(cls.name) is abstract: add an instance of one of its subclasses") }
        var values = values
        if let ccn = cls.keys.first(where: { sameName($0.name, "CreationClassName") }),
            !values.contains(where: { sameName($0.0.name, ccn.name) })
        {
            values.append((ccn, .string(cls.name)))
        }
        var keyBindings: [(PropertyMapping, Value)] = []
        var columns: [SQLIdentifier] = [SQLNames.instanceID]
        var parameters: [SQLValue] = [SQLValue(nil)]
        for (property, value) in values {
            var stored = value
            if property.isReference, let target = value.stringValue {
                let (id, path) = try resolveReference(target, property: property, className: cls.name, on: connection)
                parameters.append(SQLValue(id))
                stored = .reference(path)
            } else {
                parameters.append(ValueCoding.sqlValue(value, for: property))
            }
            columns.append(property.sqlColumn)
            if property.isKey { keyBindings.append((property, stored)) }
        }
        for key in cls.keys where !keyBindings.contains(where: { sameName($0.0.name, key.name) }) {
            throw InstanceError(
                .missingKey, "missing key property \(key.name) of class \(cls.name) (keys: \(cls.keys.map(\.name).joined(separator: ", ")))")
        }
        let path = Self.format(cls, keys: keyBindings)
        return try connection.transaction { connection in
            let registered: QueryResult
            do {
                registered = try connection.execute("INSERT INTO cimdb.instance (class_name, path) VALUES (\(cls.name), \(path)) RETURNING id")
            } catch let error as PostgresError where error.sqlState == "23505" {
                throw InstanceError(.alreadyExists, "instance \(path) already exists")
            }
            guard let id = registered.first?.int64("id") else { throw InstanceError(.registry, "the registry returned no id for \(path)") }
            parameters[0] = SQLValue(id)
            do {
                try connection.execute("INSERT INTO \(cls.sqlTable) (\(SQL.list(columns))) VALUES (\(SQL.list(parameters)))")
            } catch let error as PostgresError {
                throw explain(error, cls)
            }
            return (id, path)
        }
    }

    /// A database error in terms of the model: which property a CHECK constraint guards.
    func explain(_ error: PostgresError, _ cls: ClassMapping) -> any Error {
        guard error.sqlState == "23514" || error.sqlState == "23502", let name = error.constraint ?? error.column else { return error }
        let property = cls.properties.first { name == $0.column || name.hasPrefix($0.column + "_") }
        guard let property else { return error }
        return InstanceError(.invalidValue, "value rejected for \(cls.name).\(property.name) (\(property.type.rawValue)): \(error.message)")
    }

    /// The id and canonical path of the instance a reference names; it must exist and be of
    /// the reference's class.
    func resolveReference(_ text: String, property: PropertyMapping, className: String, on connection: Connection) throws -> (Int64, String) {
        let target: InstancePath
        do {
            target = try InstancePath.parse(text)
        } catch {
            throw InstanceError(.invalidPath, "\(className).\(property.name): not an instance path (\(error)): \(text)")
        }
        let (targetClass, path) = try canonicalPath(target, on: connection)
        if let referenceClass = property.referenceClass, !catalog.isClass(targetClass.name, kindOf: referenceClass) {
            throw InstanceError(
                .wrongReferenceClass, "\(className).\(property.name) refers to \(referenceClass) instances; \(path) is a \(targetClass.name)")
        }
        guard let id = try connection.execute("SELECT id FROM cimdb.instance WHERE path = \(path)").first?.int64("id") else {
            throw InstanceError(.notFound, "\(className).\(property.name): no instance \(path)")
        }
        return (id, path)
    }

    /// The canonical form of a path: the class as the model spells it, every key exactly once
    /// and of its type, keys sorted by name, references canonical themselves.
    public func canonicalPath(_ path: InstancePath, on connection: Connection) throws -> (ClassMapping, String) {
        let cls = try mapping(path.className)
        var keys: [(PropertyMapping, Value)] = []
        for binding in path.keys {
            guard let property = cls.property(named: binding.name), property.isKey else {
                throw InstanceError(
                    .invalidPath, "\(binding.name) is not a key of class \(cls.name) (keys: \(cls.keys.map(\.name).joined(separator: ", ")))")
            }
            if property.isReference {
                guard let nested = binding.value.stringValue else {
                    throw InstanceError(.invalidPath, "\(cls.name).\(property.name) must be a quoted instance path")
                }
                let (_, nestedPath) = try resolveReference(nested, property: property, className: cls.name, on: connection)
                keys.append((property, .reference(nestedPath)))
            } else {
                let text = binding.value.stringValue ?? ValueCoding.scalarText(binding.value)
                do {
                    keys.append((property, try ValueCoding.parse(text, for: property, of: cls.name)))
                } catch {
                    throw InstanceError(.invalidPath, error.description)
                }
            }
        }
        for key in cls.keys where !keys.contains(where: { sameName($0.0.name, key.name) }) {
            throw InstanceError(.invalidPath, "the path names no value for key \(key.name) of class \(cls.name)")
        }
        return (cls, Self.format(cls, keys: keys))
    }

    static func format(_ cls: ClassMapping, keys: [(PropertyMapping, Value)]) -> String {
        let sorted = keys.sorted { namePrecedes($0.0.name, $1.0.name) }
        return InstancePath(className: cls.name, keys: sorted.map { ($0.0.name, $0.1) }).description
    }

    /// The instance at `path`, with its values; nil when there is none.
    public func find(_ path: String, on connection: Connection) throws -> StoredInstance? {
        let (_, canonical) = try canonicalPath(try parse(path), on: connection)
        guard let registry = try connection.execute("SELECT id, class_name FROM cimdb.instance WHERE path = \(canonical)").first,
            let id = registry.int64("id"), let className = registry["class_name"]
        else { return nil }
        let cls = try mapping(className)
        guard let row = try connection.execute("SELECT * FROM ONLY \(cls.sqlTable) WHERE \(SQLNames.instanceID) = \(id)").first else {
            return nil
        }
        var values: [(name: String, value: Value)] = []
        for property in cls.properties {
            var value = ValueCoding.value(in: row, column: property.column, for: property)
            if property.isReference, let text = row[property.column], let referenced = Int64(text) {
                let path = try connection.execute("SELECT path FROM cimdb.instance WHERE id = \(referenced)").first?["path"]
                value = path.map(Value.reference) ?? .null
            }
            values.append((property.name, value))
        }
        return StoredInstance(id: id, className: cls.name, path: canonical, values: values)
    }

    /// Removes the instance at `path` and, by cascade, every association that references it.
    /// Returns how many instances went (the instance itself and those associations).
    public func remove(_ path: String, on connection: Connection) throws -> Int {
        let (_, canonical) = try canonicalPath(try parse(path), on: connection)
        return try connection.transaction { connection in
            let before = try connection.execute("SELECT count(*) AS n FROM cimdb.instance").first?.int("n") ?? 0
            let deleted = try connection.execute("DELETE FROM cimdb.instance WHERE path = \(canonical)")
            guard deleted.affectedRows > 0 else { throw InstanceError(.notFound, "no instance \(canonical)") }
            let after = try connection.execute("SELECT count(*) AS n FROM cimdb.instance").first?.int("n") ?? 0
            return before - after
        }
    }

    /// The instances of a class and its subclasses (or all), by path.
    public func list(className: String?, on connection: Connection) throws -> [(id: Int64, className: String, path: String)] {
        let rows: QueryResult
        if let className {
            let cls = try mapping(className)
            rows = try connection.execute(
                """
                SELECT i.id, i.class_name, i.path FROM cimdb.instance i JOIN \(cls.sqlTable) t ON t.\(SQLNames.instanceID) = i.id ORDER BY i.path
                """)
        } else {
            rows = try connection.execute("SELECT id, class_name, path FROM cimdb.instance ORDER BY path")
        }
        return rows.compactMap { row in
            guard let id = row.int64("id"), let cls = row["class_name"], let path = row["path"] else { return nil }
            return (id, cls, path)
        }
    }

    func parse(_ text: String) throws(InstanceError) -> InstancePath {
        do {
            return try InstancePath.parse(text)
        } catch {
            throw InstanceError(.invalidPath, "not an instance path (\(error)): \(text)")
        }
    }
}
