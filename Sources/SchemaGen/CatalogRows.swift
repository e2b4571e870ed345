import CIM
import ORM

/// The catalog rows of a model: `cimdb.model_class`, `cimdb.model_property` and
/// `cimdb.value_map` (ValueMap/Values, recorded for the class that declares them). The
/// instance commands, ingest and schema evolution read the installed model from these tables.
struct CatalogRows {
    var model: Model

    func insertStatements(classes: [ClassDeclaration]? = nil) -> String {
        let classes = classes ?? model.classes
        guard !classes.isEmpty else { return "" }
        var classRows: [String] = []
        var propertyRows: [String] = []
        var valueRows: [String] = []
        for cls in classes {
            classRows.append(classRow(cls))
            for (position, property) in cls.properties.enumerated() {
                propertyRows.append(propertyRow(property, of: cls, position: position))
                valueRows += valueMapRows(property, of: cls)
            }
        }
        var out =
            "INSERT INTO cimdb.model_class (class_key, name, table_name, superclass, depth, is_abstract, is_association, is_indication, description) VALUES\n    "
        out += classRows.joined(separator: ",\n    ") + ";\n"
        if !propertyRows.isEmpty {
            out +=
                "INSERT INTO cimdb.model_property (class_key, property_key, name, column_name, position, cim_type, is_array, array_size, is_key, reference_class, class_origin, max_length, description) VALUES\n    "
            out += propertyRows.joined(separator: ",\n    ") + ";\n"
        }
        if !valueRows.isEmpty {
            out += "INSERT INTO cimdb.value_map (class_key, property_key, position, value, name) VALUES\n    "
            out += valueRows.joined(separator: ",\n    ") + ";\n"
        }
        return out
    }

    func depth(of cls: ClassDeclaration) -> Int { model.ancestors(of: cls.name).count }

    func classRow(_ cls: ClassDeclaration) -> String {
        let values: [String] = [
            literal(foldedName(cls.name)), literal(cls.name), literal(SQLNames.table(for: cls.name)),
            cls.superclass.map(literal) ?? "NULL", String(depth(of: cls)),
            String(cls.isAbstract), String(cls.isAssociation), String(cls.isIndication),
            cls.description.map(literal) ?? "NULL",
        ]
        return "(" + values.joined(separator: ", ") + ")"
    }

    func propertyRow(_ p: Property, of cls: ClassDeclaration, position: Int) -> String {
        let values: [String] = [
            literal(foldedName(cls.name)), literal(foldedName(p.name)), literal(p.name), literal(SQLNames.column(for: p.name)),
            String(position), literal(p.type.rawValue), String(p.isArray), p.arraySize.map { String($0) } ?? "NULL",
            String(p.isKey), p.referenceClass.map(literal) ?? "NULL", literal(p.classOrigin),
            p.maxLength.map { String($0) } ?? "NULL", p.description.map(literal) ?? "NULL",
        ]
        return "(" + values.joined(separator: ", ") + ")"
    }

    /// ValueMap/Values pairs of a property, when this class declares them (not inherited).
    func valueMapRows(_ p: Property, of cls: ClassDeclaration) -> [String] {
        guard let valueMap = p.qualifiers["ValueMap"], !valueMap.propagated, let codes = p.qualifiers.strings("ValueMap") else { return [] }
        let names = p.qualifiers.strings("Values") ?? []
        return codes.enumerated().map { position, code in
            let name = position < names.count ? literal(names[position]) : "NULL"
            return "(\(literal(foldedName(cls.name))), \(literal(foldedName(p.name))), \(position), \(literal(code)), \(name))"
        }
    }

    func literal(_ text: String) -> String { SQLNames.literal(text) }
}
