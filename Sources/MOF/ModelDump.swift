public import CIM
public import Foundation

/// The resolved model as JSON (`cimdb mof compile --dump-json`): qualifier declarations,
/// classes with their resolved properties and methods, and instances. Lists are sorted
/// case-insensitively by name (method parameters stay in declaration order); qualifier values
/// are JSON strings, numbers, booleans, null or arrays; types are the lower-case MOF names.
public enum ModelDump {
    public static func json(_ model: Model, pretty: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Document(model))
    }

    struct Document: Encodable {
        var qualifierDeclarations: [QualifierDeclarationDump]
        var classes: [ClassDump]
        var instances: [InstanceDump]

        init(_ model: Model) {
            qualifierDeclarations = model.qualifierDeclarations.sorted { namePrecedes($0.name, $1.name) }.map(QualifierDeclarationDump.init)
            classes = model.classes.sorted { namePrecedes($0.name, $1.name) }.map(ClassDump.init)
            instances = model.instances.map { InstanceDump($0, model: model) }
        }
    }

    struct QualifierDeclarationDump: Encodable {
        var name: String
        var type: String
        var isArray: Bool
        var arraySize: Int?
        var defaultValue: JSONValue
        var scopes: [String]
        var flavors: [String]

        init(_ d: QualifierDeclaration) {
            name = d.name
            type = d.type.rawValue
            isArray = d.isArray
            arraySize = d.arraySize
            defaultValue = JSONValue(d.defaultValue)
            scopes = d.scope.keywordNames
            flavors = d.flavor.keywords
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(name, forKey: .name)
            try c.encode(type, forKey: .type)
            try c.encode(isArray, forKey: .isArray)
            try c.encode(arraySize, forKey: .arraySize)
            try c.encode(defaultValue, forKey: .defaultValue)
            try c.encode(scopes, forKey: .scopes)
            try c.encode(flavors, forKey: .flavors)
        }
        enum Key: String, CodingKey { case name, type, isArray, arraySize, defaultValue, scopes, flavors }
    }

    static func qualifierObject(_ list: QualifierList) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for q in list { out[q.name] = JSONValue(q.value) }
        return out
    }

    struct ClassDump: Encodable {
        var name: String
        var superclass: String?
        var isAssociation: Bool
        var isIndication: Bool
        var isAbstract: Bool
        var qualifiers: [String: JSONValue]
        var properties: [PropertyDump]
        var methods: [MethodDump]

        init(_ c: ClassDeclaration) {
            name = c.name
            superclass = c.superclass
            isAssociation = c.isAssociation
            isIndication = c.isIndication
            isAbstract = c.isAbstract
            qualifiers = qualifierObject(c.qualifiers)
            properties = c.properties.sorted { namePrecedes($0.name, $1.name) }.map(PropertyDump.init)
            methods = c.methods.sorted { namePrecedes($0.name, $1.name) }.map(MethodDump.init)
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(name, forKey: .name)
            try c.encode(superclass, forKey: .superclass)
            try c.encode(isAssociation, forKey: .isAssociation)
            try c.encode(isIndication, forKey: .isIndication)
            try c.encode(isAbstract, forKey: .isAbstract)
            try c.encode(qualifiers, forKey: .qualifiers)
            try c.encode(properties, forKey: .properties)
            try c.encode(methods, forKey: .methods)
        }
        enum Key: String, CodingKey { case name, superclass, isAssociation, isIndication, isAbstract, qualifiers, properties, methods }
    }

    struct PropertyDump: Encodable {
        var p: Property
        init(_ p: Property) { self.p = p }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(p.name, forKey: .name)
            try c.encode(p.type.rawValue, forKey: .type)
            try c.encode(p.isArray, forKey: .isArray)
            try c.encode(p.arraySize, forKey: .arraySize)
            try c.encode(p.referenceClass, forKey: .referenceClass)
            try c.encode(p.classOrigin, forKey: .classOrigin)
            try c.encode(p.propagated, forKey: .propagated)
            try c.encode(p.isKey, forKey: .isKey)
            try c.encode(JSONValue(p.defaultValue), forKey: .defaultValue)
            try c.encode(qualifierObject(p.qualifiers), forKey: .qualifiers)
        }
        enum Key: String, CodingKey { case name, type, isArray, arraySize, referenceClass, classOrigin, propagated, isKey, defaultValue, qualifiers }
    }

    struct MethodDump: Encodable {
        var m: Method
        init(_ m: Method) { self.m = m }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(m.name, forKey: .name)
            try c.encode(m.returnType.rawValue, forKey: .returnType)
            try c.encode(m.returnReferenceClass, forKey: .returnReferenceClass)
            try c.encode(m.classOrigin, forKey: .classOrigin)
            try c.encode(m.propagated, forKey: .propagated)
            try c.encode(qualifierObject(m.qualifiers), forKey: .qualifiers)
            try c.encode(m.parameters.map(ParameterDump.init), forKey: .parameters)
        }
        enum Key: String, CodingKey { case name, returnType, returnReferenceClass, classOrigin, propagated, qualifiers, parameters }
    }

    struct ParameterDump: Encodable {
        var p: Parameter
        init(_ p: Parameter) { self.p = p }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(p.name, forKey: .name)
            try c.encode(p.type.rawValue, forKey: .type)
            try c.encode(p.isArray, forKey: .isArray)
            try c.encode(p.arraySize, forKey: .arraySize)
            try c.encode(p.referenceClass, forKey: .referenceClass)
            try c.encode(qualifierObject(p.qualifiers), forKey: .qualifiers)
        }
        enum Key: String, CodingKey { case name, type, isArray, arraySize, referenceClass, qualifiers }
    }

    struct InstanceDump: Encodable {
        var className: String
        var alias: String?
        var path: String
        var properties: [String: JSONValue]

        init(_ i: Instance, model: Model) {
            className = i.className
            alias = i.alias
            let keys = model.class(named: i.className)?.keys ?? []
            path = InstancePath(className: i.className, keys: keys.compactMap { k in i.value(of: k.name).map { (k.name, $0) } }).description
            var props: [String: JSONValue] = [:]
            for (name, value) in i.properties { props[name] = JSONValue(value) }
            properties = props
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(className, forKey: .className)
            try c.encode(alias, forKey: .alias)
            try c.encode(path, forKey: .path)
            try c.encode(properties, forKey: .properties)
        }
        enum Key: String, CodingKey { case className, alias, path, properties }
    }
}

/// A CIM value as plain JSON: char16, datetime and reference values become strings.
struct JSONValue: Encodable {
    var value: Value
    init(_ value: Value) { self.value = value }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch value {
        case .null: try c.encodeNil()
        case .boolean(let b): try c.encode(b)
        case .signed(let i): try c.encode(i)
        case .unsigned(let u): try c.encode(u)
        case .real(let d): try c.encode(d)
        case .char16, .string, .datetime, .reference: try c.encode(value.stringValue ?? "")
        case .array(let a): try c.encode(a.map(JSONValue.init))
        }
    }
}
