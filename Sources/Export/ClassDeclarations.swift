import CIM
import ORM
import SQLCore
import Store

/// Class declarations in CIM-XML (DSP0201 §3.2.4): `CLASS` with its qualifiers (and their
/// flavors), every property — inherited ones marked PROPAGATED, each with CLASSORIGIN, its
/// qualifiers and default value — and its methods with their parameters.
struct ClassDeclarations {
    let model: Model

    func write(_ cls: ClassDeclaration, to writer: XMLWriter) throws {
        try writer.start("CLASS")
        try writer.attribute("NAME", cls.name)
        if let superclass = cls.superclass { try writer.attribute("SUPERCLASS", superclass) }
        try qualifiers(cls.qualifiers, writer)
        for p in cls.properties { try property(p, writer) }
        for m in cls.methods { try method(m, writer) }
        try writer.end()
    }

    private func property(_ p: Property, _ writer: XMLWriter) throws {
        if p.type == .reference {
            try writer.start("PROPERTY.REFERENCE")
            try writer.attribute("NAME", p.name)
            if let target = p.referenceClass { try writer.attribute("REFERENCECLASS", target) }
        } else {
            try writer.start(p.isArray ? "PROPERTY.ARRAY" : "PROPERTY")
            try writer.attribute("NAME", p.name)
            try writer.attribute("TYPE", Self.xmlType(p.type))
            if let kind = EmbeddedProperties.kind(of: p) { try writer.attribute("EmbeddedObject", kind) }
            if p.isArray, let size = p.arraySize { try writer.attribute("ARRAYSIZE", String(size)) }
        }
        try writer.attribute("CLASSORIGIN", p.classOrigin)
        if p.propagated { try writer.attribute("PROPAGATED", "true") }
        try qualifiers(p.qualifiers, writer)
        if p.type != .reference, !p.defaultValue.isNull { try value(p.defaultValue, isArray: p.isArray, writer) }
        try writer.end()
    }

    private func method(_ m: Method, _ writer: XMLWriter) throws {
        try writer.start("METHOD")
        try writer.attribute("NAME", m.name)
        if m.returnType != .reference { try writer.attribute("TYPE", Self.xmlType(m.returnType)) }
        try writer.attribute("CLASSORIGIN", m.classOrigin)
        if m.propagated { try writer.attribute("PROPAGATED", "true") }
        try qualifiers(m.qualifiers, writer)
        for parameter in m.parameters {
            switch (parameter.type == .reference, parameter.isArray) {
            case (true, false): try writer.start("PARAMETER.REFERENCE")
            case (true, true): try writer.start("PARAMETER.REFARRAY")
            case (false, true): try writer.start("PARAMETER.ARRAY")
            case (false, false): try writer.start("PARAMETER")
            }
            try writer.attribute("NAME", parameter.name)
            if parameter.type == .reference {
                if let target = parameter.referenceClass { try writer.attribute("REFERENCECLASS", target) }
            } else {
                try writer.attribute("TYPE", Self.xmlType(parameter.type))
            }
            if parameter.isArray, let size = parameter.arraySize { try writer.attribute("ARRAYSIZE", String(size)) }
            try qualifiers(parameter.qualifiers, writer)
            try writer.end()
        }
        try writer.end()
    }

    private func qualifiers(_ list: QualifierList, _ writer: XMLWriter) throws {
        for q in list {
            let declaration = model.qualifierDeclaration(named: q.name)
            let type = declaration?.type ?? Self.inferredType(q.value)
            let isArray = declaration?.isArray ?? { if case .array = q.value { true } else { false } }()
            try writer.start("QUALIFIER")
            try writer.attribute("NAME", declaration?.name ?? q.name)
            try writer.attribute("TYPE", Self.xmlType(type))
            if q.propagated { try writer.attribute("PROPAGATED", "true") }
            if !q.flavor.overridable { try writer.attribute("OVERRIDABLE", "false") }
            if !q.flavor.toSubclass { try writer.attribute("TOSUBCLASS", "false") }
            if q.flavor.translatable { try writer.attribute("TRANSLATABLE", "true") }
            if !q.value.isNull { try value(q.value, isArray: isArray, writer) }
            try writer.end()
        }
    }

    private func value(_ v: Value, isArray: Bool, _ writer: XMLWriter) throws {
        if isArray {
            try writer.start("VALUE.ARRAY")
            for element in v.arrayElements {
                if element.isNull { try writer.element("VALUE.NULL") } else { try writer.element("VALUE", text: Self.text(element)) }
            }
            try writer.end()
        } else if case .array(let elements) = v, let first = elements.first {
            try writer.element("VALUE", text: Self.text(first))
        } else {
            try writer.element("VALUE", text: Self.text(v))
        }
    }

    static func text(_ v: Value) -> String {
        switch v {
        case .null: ""
        case .boolean(let b): b ? "TRUE" : "FALSE"
        case .signed(let i): String(i)
        case .unsigned(let u): String(u)
        case .real(let d): String(d)
        case .char16, .string, .datetime, .reference: v.stringValue ?? ""
        case .array(let elements): elements.map(text).joined(separator: ",")
        }
    }

    static func xmlType(_ type: DataType) -> String {
        switch type {
        case .object, .reference: "string"
        default: type.rawValue
        }
    }

    static func inferredType(_ v: Value) -> DataType {
        switch v {
        case .boolean: .boolean
        case .signed: .sint64
        case .unsigned: .uint64
        case .real: .real64
        case .array(let elements): elements.first.map(inferredType) ?? .string
        default: .string
        }
    }
}
