import CIM
public import ORM
public import SQLCore
public import Store

extension ModelCatalog {
    /// The installed model's spelling of a class name given in any case (`cim_filesystem` →
    /// `CIM_FileSystem`), without loading the catalog; nil when the model has no such class.
    public static func installedName(of className: String, on connection: Connection) throws(PostgresError) -> String? {
        try connection.execute("SELECT name FROM cimdb.model_class WHERE class_key = lower(\(className))").first?["name"]
    }

    /// Reads the installed model from the database (empty when no model is installed).
    public static func load(from connection: Connection) throws(PostgresError) -> ModelCatalog {
        let classRows = try connection.execute(
            """
            SELECT class_key, name, table_name, superclass, depth, is_abstract, is_association, is_indication, description
            FROM cimdb.model_class ORDER BY depth, class_key
            """)
        let propertyRows = try connection.execute(
            """
            SELECT class_key, name, column_name, cim_type, is_array, array_size, is_key, reference_class, class_origin, max_length, description
            FROM cimdb.model_property ORDER BY class_key, position
            """)
        var properties: [String: [PropertyMapping]] = [:]
        for row in propertyRows {
            guard let classKey = row["class_key"], let name = row["name"], let column = row["column_name"],
                let type = row["cim_type"].flatMap({ DataType(rawValue: $0) })
            else { continue }
            properties[classKey, default: []].append(
                PropertyMapping(
                    name: name, column: column, type: type, isArray: row.bool("is_array") ?? false, arraySize: row.int("array_size"),
                    isKey: row.bool("is_key") ?? false, referenceClass: row["reference_class"], classOrigin: row["class_origin"] ?? "",
                    maxLength: row.int("max_length"), description: row["description"]))
        }
        return ModelCatalog(
            classes: classRows.compactMap { row in
                guard let key = row["class_key"], let name = row["name"], let table = row["table_name"] else { return nil }
                return ClassMapping(
                    name: name, table: table, superclass: row["superclass"], depth: row.int("depth") ?? 0,
                    isAbstract: row.bool("is_abstract") ?? false, isAssociation: row.bool("is_association") ?? false,
                    isIndication: row.bool("is_indication") ?? false, description: row["description"],
                    properties: properties[key] ?? [])
            })
    }
}
