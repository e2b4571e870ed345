public import CIM
public import ORM
import SQLCore
public import Store

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
        /// The installed model (compiled from the MOF source `cimdb migrate` stored): the
        /// qualifiers the catalog tables do not keep. It says which properties hold embedded
        /// instances or objects (DSP0201's EmbeddedObject attribute; without it, only properties
        /// of type object are marked), and it is what `classDeclarations` writes.
        public var model: Model?
        /// The declarations of the exported classes and their superclasses first, with every
        /// qualifier (needs `model`).
        public var classDeclarations = false

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
        /// Values of embedded-instance properties that are not CIM-XML (DSP0201 wants the
        /// INSTANCE element's text), written as plain strings.
        public var plainEmbeddedValues = 0
    }

    public let catalog: ModelCatalog
    public let options: Options
    /// DSP0201's EmbeddedObject attribute of the properties that have one.
    let embedded: EmbeddedProperties
    /// Rows fetched from the cursor at a time.
    static let fetchSize = 2_000

    public init(catalog: ModelCatalog, options: Options) {
        self.catalog = catalog
        self.options = options
        embedded = EmbeddedProperties(model: options.model)
    }

    /// The classes whose instances are written, in name order; throws on an unknown class.
    /// An association class is written when the class filter names it (or a superclass of it),
    /// or with `associations` — then, under a class filter, only its instances that refer to
    /// an instance of the filtered classes (see `referenceFilter`).
    public func classes() throws(ExportError) -> [ClassMapping] {
        if let name = options.className, catalog.class(named: name) == nil {
            throw ExportError.unknownClass(name)
        }
        return catalog.classes.filter { cls in
            guard !cls.isAbstract, !cls.isIndication else { return false }
            guard let name = options.className else { return !cls.isAssociation || options.associations }
            return catalog.isClass(cls.name, kindOf: name) || (cls.isAssociation && options.associations)
        }.sorted { $0.name < $1.name }
    }

    /// For an association written only because of `associations` under a class filter: its
    /// instances that refer to an instance of the filtered classes (nil: all of them).
    func referenceFilter(_ cls: ClassMapping) -> SQL? {
        guard cls.isAssociation, let name = options.className, !catalog.isClass(cls.name, kindOf: name) else { return nil }
        let filtered = catalog.classes.filter { catalog.isClass($0.name, kindOf: name) }.map(\.name)
        let references = cls.properties.filter(\.isReference).map { property -> SQL in "t.\(property.sqlColumn)" }
        guard !references.isEmpty else { return nil }
        return "EXISTS (SELECT 1 FROM cimdb.instance i WHERE i.id IN (\(references.joined(separator: ", "))) AND i.class_name = ANY(\(filtered)))"
    }

    /// Writes the document to `path` ("-": standard output). `progress` gets the number of
    /// instances written so far, every quarter megabyte of the document or so.
    public func export(to path: String, on connection: Connection, progress: ((Int) -> Void)? = nil) throws -> Summary {
        // The filters are checked before the file is created: a bad one leaves it alone.
        try checkNode(on: connection)
        let selected = try classes()
        return try export(selected, to: try XMLWriter(path: path), on: connection, progress: progress)
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
        if let node = options.node, try connection.execute("SELECT 1 FROM cimdb.node WHERE name = \(node)").first == nil {
            throw ExportError.unknownNode(node)
        }
    }

    private func export(
        _ selected: [ClassMapping], to writer: XMLWriter, on connection: Connection, progress: ((Int) -> Void)? = nil
    ) throws -> Summary {
        var summary = Summary()
        try writer.start("CIM")
        try writer.attribute("CIMVERSION", "2.0")
        try writer.attribute("DTDVERSION", "2.0")
        try writer.start("DECLARATION")
        try writer.start("DECLGROUP.WITHPATH")
        if options.classDeclarations, let model = options.model {
            summary.classes = try writeDeclarations(of: selected, model: model, to: writer)
        }
        try connection.transaction { c in
            for cls in selected {
                let done = summary.instances
                let written = try write(cls, to: writer, on: c) { progress?(done + $0) }
                if cls.isAssociation { summary.associations += written }
                summary.instances += written
            }
        }
        // The instances are markup the writer did not write: the end tag after them gets the
        // line and indentation it would have given it.
        if summary.instances > 0 { try writer.raw(Array("\n    ".utf8)) }
        try writer.end()
        try writer.end()
        try writer.end()
        try writer.finish()
        summary.droppedCharacters = writer.dropped
        summary.plainEmbeddedValues = writer.plainEmbedded
        return summary
    }

    /// The instances of one class (not its subclasses: they are classes of their own), read
    /// through a cursor while they are written.
    func write(_ cls: ClassMapping, to writer: XMLWriter, on c: Connection, progress: (Int) -> Void = { _ in }) throws -> Int {
        var sql: SQL = "SELECT \(ClassMarkup.columns(of: cls)) FROM ONLY \(cls.sqlTable) t"
        var conditions: [SQL] = []
        if let node = options.node {
            conditions.append("EXISTS (SELECT 1 FROM cimdb.instance_source s WHERE s.node = \(node) AND s.instance_id = t.\(SQLNames.instanceID))")
        }
        if let filter = referenceFilter(cls) { conditions.append(filter) }
        if !conditions.isEmpty { sql.append(" WHERE \(conditions.joined(separator: " AND "))") }
        sql.append(" ORDER BY t.\(SQLNames.instanceID)")
        var markup = ClassMarkup(cls, catalog: catalog, embedded: embedded, namespacePath: namespacePath())
        var out = MarkupBuffer(capacity: Self.chunkSize + 64 * 1024)
        var count = 0
        try c.streamRows(sql, batchSize: Self.fetchSize) { rows, keepReading in
            for row in 0..<rows.count {
                try markup.appendObject(rows, row, to: &out)
                count += 1
                if out.bytes.count >= Self.chunkSize {
                    try writer.raw(out.bytes)
                    out.bytes.removeAll(keepingCapacity: true)
                    keepReading()
                    progress(count)
                }
            }
        }
        if !out.bytes.isEmpty { try writer.raw(out.bytes) }
        writer.dropped += out.dropped
        writer.plainEmbedded += out.plainEmbedded
        return count
    }

    /// Markup handed to libxml2 at a time.
    static let chunkSize = 256 * 1024

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

    /// The `INSTANCE` element of each of these instances as it is now (for embedding, e.g. an
    /// indication's SourceInstance), by instance id; ids of instances that no longer exist are
    /// left out.
    public func instanceElements(ids: [Int64], on connection: Connection) throws -> [Int64: String] {
        var out: [Int64: String] = [:]
        let byClass = try connection.execute("SELECT id, class_name FROM cimdb.instance WHERE id = ANY(\(ids))")
        var grouped: [String: [Int64]] = [:]
        for row in byClass {
            if let id = row.int64("id"), let cls = row["class_name"] { grouped[cls, default: []].append(id) }
        }
        let idColumn = SQLNames.instanceID
        for (name, classIDs) in grouped {
            guard let cls = catalog.class(named: name) else { continue }
            var markup = ClassMarkup(cls, catalog: catalog, embedded: embedded, namespacePath: namespacePath())
            // The id last: the class's columns come first, where ClassMarkup expects them.
            let sql: SQL = "SELECT \(ClassMarkup.columns(of: cls)), t.\(idColumn) FROM ONLY \(cls.sqlTable) t WHERE t.\(idColumn) = ANY(\(classIDs))"
            try connection.withRawRows(sql) { rows in
                for row in 0..<rows.count {
                    guard let id = rows.bytes(row, rows.columnCount - 1).flatMap(ClassMarkup.integer) else { continue }
                    var element = MarkupBuffer()
                    try markup.appendInstance(rows, row, to: &element)
                    out[id] = String(decoding: element.bytes, as: UTF8.self)
                }
            }
        }
        return out
    }

    /// The NAMESPACEPATH of every instance path.
    func namespacePath() -> [UInt8] {
        var out = MarkupBuffer()
        out.append("<NAMESPACEPATH><HOST>")
        out.appendText(options.host)
        out.append("</HOST><LOCALNAMESPACEPATH>")
        for part in options.namespace {
            out.append("<NAMESPACE NAME=\"")
            out.appendText(part)
            out.append("\"/>")
        }
        out.append("</LOCALNAMESPACEPATH></NAMESPACEPATH>")
        return out.bytes
    }

    func writeNamespacePath(_ writer: XMLWriter) throws(ExportError) {
        try writer.start("NAMESPACEPATH")
        try writer.element("HOST", text: options.host)
        try writer.start("LOCALNAMESPACEPATH")
        for part in options.namespace { try writer.element("NAMESPACE", ["NAME": part]) }
        try writer.end()
        try writer.end()
    }
}
