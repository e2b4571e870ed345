import CIM
import ORM
import Store

/// Writes the inventory as a CIM-XML document (DMTF DSP0201, valid against the DTD DSP0203):
/// `<CIM><DECLARATION><DECLGROUP.WITHPATH>` holding one `VALUE.OBJECTWITHPATH` per instance —
/// its INSTANCEPATH (host, namespace, INSTANCENAME with typed KEYBINDINGs) and the INSTANCE with
/// every property of its class: scalars as PROPERTY, arrays as PROPERTY.ARRAY (NULL entries as
/// VALUE.NULL), references as PROPERTY.REFERENCE holding the referenced INSTANCEPATH; a NULL
/// value is a property without a value. Rows are read through a cursor and written as they
/// come: memory stays flat however large the inventory.
public struct CIMXMLExporter: Sendable {
    public struct Options: Sendable {
        /// Only this class and its subclasses (nil: every class).
        public var className: String?
        /// Only the instances this node reports (nil: every node's).
        public var node: String?
        /// Association instances too.
        public var associations = false
        /// The HOST of every instance path.
        public var host: String
        /// The namespace, as its path components.
        public var namespace = ["root", "cimv2"]
        /// With the model (its MOF source as `cimdb migrate` stored it), the declarations of the
        /// exported classes and their superclasses come first, with every qualifier.
        public var classDeclarations: Model?

        public init(className: String? = nil, node: String? = nil, associations: Bool = false, host: String) {
            self.className = className
            self.node = node
            self.associations = associations
            self.host = host
        }
    }

    public struct Summary: Sendable, Equatable {
        /// Class declarations written (with `classDeclarations`).
        public var classes = 0
        public var instances = 0
        public var associations = 0
        /// Characters XML 1.0 cannot carry, dropped from values (DSP0201 values are XML text).
        public var droppedCharacters = 0
    }

    public let catalog: ModelCatalog
    public let options: Options
    /// Rows fetched from the cursor at a time.
    static let fetchSize = 2_000

    public init(catalog: ModelCatalog, options: Options) {
        self.catalog = catalog
        self.options = options
    }

    /// The classes whose instances are written, in name order; throws on an unknown class.
    public func classes() throws(ExportError) -> [ClassMapping] {
        if let name = options.className, catalog.class(named: name) == nil {
            throw ExportError("unknown class \(name) (not in the installed model)")
        }
        return catalog.classes.filter { cls in
            guard !cls.isAbstract, !cls.isIndication else { return false }
            if cls.isAssociation { return options.associations }
            guard let name = options.className else { return true }
            return catalog.isClass(cls.name, kindOf: name)
        }.sorted { $0.name < $1.name }
    }

    /// Writes the document to `path` ("-": standard output).
    public func export(to path: String, on connection: Connection) throws -> Summary {
        // The filters are checked before the file is created: a bad one leaves it alone.
        try checkNode(on: connection)
        let selected = try classes()
        return try export(selected, to: try XMLWriter(path: path), on: connection)
    }

    /// Streams the document to `sink` (an HTTP response, say): memory stays flat whatever
    /// the inventory's size.
    public func export(to sink: XMLSink, on connection: Connection) throws -> Summary {
        try checkNode(on: connection)
        let selected = try classes()
        return try export(selected, to: try XMLWriter(sink: sink), on: connection)
    }

    /// Throws for a node filter naming a node the inventory does not know.
    public func checkNode(on connection: Connection) throws {
        if let node = options.node, try connection.execute("SELECT 1 FROM cimdb.node WHERE name = $1", [SQLValue(node)]).first == nil {
            throw ExportError("unknown node \(node) (no discovery result from it)")
        }
    }

    private func export(_ selected: [ClassMapping], to writer: XMLWriter, on connection: Connection) throws -> Summary {
        var summary = Summary()
        try writer.start("CIM")
        try writer.attribute("CIMVERSION", "2.0")
        try writer.attribute("DTDVERSION", "2.0")
        try writer.start("DECLARATION")
        try writer.start("DECLGROUP.WITHPATH")
        if let model = options.classDeclarations {
            summary.classes = try writeDeclarations(of: selected, model: model, to: writer)
        }
        try connection.transaction { c in
            for cls in selected {
                let written = try write(cls, to: writer, on: c)
                if cls.isAssociation { summary.associations += written }
                summary.instances += written
            }
        }
        try writer.end()
        try writer.end()
        try writer.end()
        try writer.finish()
        summary.droppedCharacters = writer.dropped
        return summary
    }

    /// The instances of one class (not its subclasses: they are classes of their own).
    func write(_ cls: ClassMapping, to writer: XMLWriter, on c: Connection) throws -> Int {
        var sql = "DECLARE cimdb_export NO SCROLL CURSOR FOR SELECT \(Self.columns(of: cls)) FROM ONLY \(cls.qualifiedTable) t"
        var parameters: [SQLValue] = []
        if let node = options.node {
            sql += " WHERE EXISTS (SELECT 1 FROM cimdb.instance_source s WHERE s.node = $1 AND s.instance_id = t.\(SQLNames.quoted(SQLNames.instanceIDColumn)))"
            parameters.append(SQLValue(node))
        }
        sql += " ORDER BY t.\(SQLNames.quoted(SQLNames.instanceIDColumn))"
        try c.execute(sql, parameters)
        defer { _ = try? c.execute("CLOSE cimdb_export") }
        let markups = cls.properties.map(PropertyMarkup.init)
        let namespaceMarkup = try preparedNamespacePath()
        let keys = cls.keys
        var count = 0
        while true {
            let rows = try c.execute("FETCH \(Self.fetchSize) FROM cimdb_export")
            if rows.isEmpty { break }
            for row in rows {
                try writer.start("VALUE.OBJECTWITHPATH")
                try writer.start("INSTANCEPATH")
                writer.raw(namespaceMarkup)
                try writer.start("INSTANCENAME")
                try writer.attribute("CLASSNAME", cls.name)
                for key in keys { try writeKeyBinding(key, row[key.column], writer) }
                try writer.end()
                try writer.end()
                try writer.start("INSTANCE")
                try writer.attribute("CLASSNAME", cls.name)
                try writeProperties(cls, markups, row: row, writer)
                try writer.end()
                try writer.end()
                count += 1
            }
        }
        return count
    }

    /// The declarations of these classes and of their superclasses, superclasses first, each as
    /// `VALUE.OBJECTWITHPATH` (CLASSPATH, CLASS). Returns how many.
    func writeDeclarations(of selected: [ClassMapping], model: Model, to writer: XMLWriter) throws -> Int {
        var wanted = Set<String>()
        for cls in selected {
            wanted.insert(cls.name.lowercased())
            for ancestor in model.ancestors(of: cls.name) { wanted.insert(ancestor.name.lowercased()) }
        }
        let declarations = ClassDeclarations(model: model)
        var count = 0
        for cls in model.classes where wanted.contains(cls.name.lowercased()) {
            try writer.start("VALUE.OBJECTWITHPATH")
            try writer.start("CLASSPATH")
            try writeNamespacePath(writer)
            try writer.element("CLASSNAME", ["NAME": cls.name])
            try writer.end()
            try declarations.write(cls, to: writer)
            try writer.end()
            count += 1
        }
        return count
    }

    /// The select list for a class's rows: every property, references as the referenced
    /// instance's path.
    static func columns(of cls: ClassMapping) -> String {
        cls.properties.map { p in
            let column = SQLNames.quoted(p.column)
            return p.isReference ? "(SELECT path FROM cimdb.instance WHERE id = t.\(column)) AS \(column)" : "t.\(column)"
        }.joined(separator: ", ")
    }

    /// The `INSTANCE` element of each of these instances as it is now (for embedding, e.g. an
    /// indication's SourceInstance), by instance id; ids of instances that no longer exist are
    /// left out.
    public func instanceElements(ids: [Int64], on connection: Connection) throws -> [Int64: String] {
        var out: [Int64: String] = [:]
        let byClass = try connection.execute("SELECT id, class_name FROM cimdb.instance WHERE id = ANY($1::bigint[])",
                                             [SQLValue(array: ids.map(String.init))])
        var grouped: [String: [String]] = [:]
        for row in byClass {
            if let id = row["id"], let cls = row["class_name"] { grouped[cls, default: []].append(id) }
        }
        let idColumn = SQLNames.quoted(SQLNames.instanceIDColumn)
        for (name, classIDs) in grouped {
            guard let cls = catalog.class(named: name) else { continue }
            let rows = try connection.execute("""
                SELECT t.\(idColumn) AS cimdb_instance_id, \(Self.columns(of: cls)) FROM ONLY \(cls.qualifiedTable) t
                WHERE t.\(idColumn) = ANY($1::bigint[])
                """, [SQLValue(array: classIDs)])
            let markups = cls.properties.map(PropertyMarkup.init)
            for row in rows {
                guard let id = row.int64("cimdb_instance_id") else { continue }
                var bytes: [UInt8] = []
                let writer = try XMLWriter(sink: XMLSink { bytes.append(contentsOf: $0); return true }, document: false)
                try writer.start("INSTANCE")
                try writer.attribute("CLASSNAME", cls.name)
                try writeProperties(cls, markups, row: row, writer)
                try writer.end()
                try writer.finish()
                out[id] = String(decoding: bytes, as: UTF8.self)
            }
        }
        return out
    }

    /// The NAMESPACEPATH of every instance path (five levels deep), prepared once: the host and
    /// namespace names escaped by libxml2 in a writer of their own.
    func preparedNamespacePath() throws -> [UInt8] {
        func escaped(_ write: (XMLWriter) throws -> Void) throws -> [UInt8] {
            var bytes: [UInt8] = []
            let writer = try XMLWriter(sink: XMLSink { bytes.append(contentsOf: $0); return true }, document: false)
            try write(writer)
            try writer.finish()
            return bytes
        }
        func line(_ depth: Int) -> [UInt8] { Array(("\n" + String(repeating: "  ", count: depth)).utf8) }
        var out = line(5) + Array("<NAMESPACEPATH>".utf8)
        out += line(6) + (try escaped { try $0.element("HOST", text: options.host) })
        out += line(6) + Array("<LOCALNAMESPACEPATH>".utf8)
        for part in options.namespace {
            out += line(7) + (try escaped { try $0.element("NAMESPACE", ["NAME": part]) })
        }
        out += line(6) + Array("</LOCALNAMESPACEPATH>".utf8)
        // A line feed last: the writer indents the INSTANCENAME that follows but does not start
        // its line after markup it did not write.
        out += line(5) + Array("</NAMESPACEPATH>\n".utf8)
        return out
    }

    func writeNamespacePath(_ writer: XMLWriter) throws(ExportError) {
        try writer.start("NAMESPACEPATH")
        try writer.element("HOST", text: options.host)
        try writer.start("LOCALNAMESPACEPATH")
        for part in options.namespace { try writer.element("NAMESPACE", ["NAME": part]) }
        try writer.end()
        try writer.end()
    }

    /// A key of the instance itself: its column text (a reference key: the referenced path).
    func writeKeyBinding(_ key: PropertyMapping, _ text: String?, _ writer: XMLWriter) throws {
        try writer.start("KEYBINDING")
        try writer.attribute("NAME", key.name)
        if key.isReference {
            try writeReference(text ?? "", writer)
        } else {
            let value = text.map { ValueCoding.decodeText($0, key.type) } ?? .null
            try writeKeyValue(value, type: key.type, writer)
        }
        try writer.end()
    }

    func writeKeyValue(_ value: Value, type: DataType, _ writer: XMLWriter) throws(ExportError) {
        try writer.start("KEYVALUE")
        try writer.attribute("VALUETYPE", Self.valueType(type))
        try writer.attribute("TYPE", type == .object ? "string" : type.rawValue)
        try writer.text(Self.text(value))
        try writer.end()
    }

    /// VALUE.REFERENCE with the INSTANCEPATH of a canonical path, its keys typed by the
    /// referenced class (nested references recursively).
    func writeReference(_ path: String, _ writer: XMLWriter) throws {
        let parsed: InstancePath
        do {
            parsed = try InstancePath.parse(path)
        } catch {
            throw ExportError("a stored reference is not an instance path: \(path)")
        }
        let target = catalog.class(named: parsed.className)
        try writer.start("VALUE.REFERENCE")
        try writer.start("INSTANCEPATH")
        try writeNamespacePath(writer)
        try writer.start("INSTANCENAME")
        try writer.attribute("CLASSNAME", target?.name ?? parsed.className)
        for binding in parsed.keys {
            let property = target?.property(named: binding.name)
            try writer.start("KEYBINDING")
            try writer.attribute("NAME", property?.name ?? binding.name)
            if property?.isReference == true, let nested = binding.value.stringValue {
                try writeReference(nested, writer)
            } else {
                let type = property?.type ?? Self.type(of: binding.value)
                try writeKeyValue(binding.value, type: type, writer)
            }
            try writer.end()
        }
        try writer.end()
        try writer.end()
        try writer.end()
    }

    /// Writes one property; true when it went out as prepared markup (the writer then does
    /// not indent the tag that follows: see `writeProperties`).
    @discardableResult
    func writeProperty(_ p: PropertyMapping, markup: PropertyMarkup, row: Row, _ writer: XMLWriter) throws -> Bool {
        if p.isReference {
            try writer.start("PROPERTY.REFERENCE")
            try writer.attribute("NAME", p.name)
            if let referenceClass = p.referenceClass { try writer.attribute("REFERENCECLASS", referenceClass) }
            if let path = row[p.column] { try writeReference(path, writer) }
            try writer.end()
            return false
        }
        guard let text = row[p.column] else {
            // NULL: the property without a value, one prepared tag.
            writer.raw(markup.empty)
            return true
        }
        if !p.isArray, let direct = Self.directText(text, p.type) {
            writer.raw(markup.open)
            try writer.text(direct)
            writer.raw(markup.close)
            return true
        }
        let value = ValueCoding.value(in: row, column: p.column, for: p)
        try writer.start(p.isArray ? "PROPERTY.ARRAY" : "PROPERTY")
        try writer.attribute("NAME", p.name)
        try writer.attribute("TYPE", p.type == .object ? "string" : p.type.rawValue)
        if p.type == .object { try writer.attribute("EmbeddedObject", "object") }
        switch value {
        case .null:
            break
        case .array(let elements):
            try writer.start("VALUE.ARRAY")
            for element in elements {
                if case .null = element { try writer.element("VALUE.NULL") } else { try writer.element("VALUE", text: Self.text(element)) }
            }
            try writer.end()
        default:
            try writer.element("VALUE", text: Self.text(value))
        }
        try writer.end()
        return false
    }

    /// An instance's properties; the INSTANCE end tag goes on a line of its own, as the writer
    /// would put it after an element it wrote itself.
    func writeProperties(_ cls: ClassMapping, _ markups: [PropertyMarkup], row: Row, _ writer: XMLWriter) throws {
        var prepared = false
        for (p, m) in zip(cls.properties, markups) { prepared = try writeProperty(p, markup: m, row: row, writer) }
        if prepared { writer.raw(PropertyMarkup.instanceEnd) }
    }

    /// A scalar's database text that is already its CIM-XML text: strings, and integers (the
    /// database writes them in decimal). Others (booleans, reals, datetimes, char16) are
    /// converted.
    static func directText(_ text: String, _ type: DataType) -> String? {
        switch type {
        case .string, .uint8, .sint8, .uint16, .sint16, .uint32, .sint32, .uint64, .sint64: text
        default: nil
        }
    }

    /// A value as CIM-XML text (DSP0201: booleans `true`/`false`, numbers in decimal).
    static func text(_ value: Value) -> String {
        switch value {
        case .boolean(let b): b ? "true" : "false"
        case .null: ""
        default: ValueCoding.scalarText(value)
        }
    }

    static func valueType(_ type: DataType) -> String {
        switch type {
        case .boolean: "boolean"
        case .uint8, .sint8, .uint16, .sint16, .uint32, .sint32, .uint64, .sint64, .real32, .real64: "numeric"
        default: "string"
        }
    }

    /// The type a key value of an unknown class is written with.
    static func type(of value: Value) -> DataType {
        switch value {
        case .boolean: .boolean
        case .signed: .sint64
        case .unsigned: .uint64
        case .real: .real64
        case .char16: .char16
        default: .string
        }
    }
}

/// A property's tags, prepared once per property of a class: the NULL form
/// `<PROPERTY NAME="…" TYPE="…"/>`, and the tags around a scalar value. Names come from the
/// model (CIM identifiers: letters, digits, underscores), so they need no escaping.
struct PropertyMarkup {
    let empty: [UInt8]
    let open: [UInt8]
    let close: [UInt8]
    /// Before `</INSTANCE>` (four levels deep).
    static let instanceEnd = Array(("\n" + String(repeating: "  ", count: 4)).utf8)

    init(_ p: PropertyMapping) {
        // The writer indents elements it writes itself; prepared markup carries the same
        // indentation (properties sit six levels deep) so the document reads the same.
        let indent = "\n" + String(repeating: "  ", count: 5)
        let tag = p.isArray ? "PROPERTY.ARRAY" : "PROPERTY"
        let attributes = "NAME=\"\(p.name)\" TYPE=\"\(p.type == .object ? "string" : p.type.rawValue)\""
            + (p.type == .object ? " EmbeddedObject=\"object\"" : "")
        empty = Array("\(indent)<\(tag) \(attributes)/>".utf8)
        open = Array("\(indent)<\(tag) \(attributes)>\(indent)  <VALUE>".utf8)
        close = Array("</VALUE>\(indent)</\(tag)>".utf8)
    }
}
