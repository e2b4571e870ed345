import CIM
import ORM
import SQLCore
import Store

/// CIM-XML markup built as bytes, handed to libxml2's writer in large chunks.
///
/// Why not one xmlTextWriter call per element: a processor has some sixty properties, and the
/// per-call work of libxml2's writer (state checks, a strlen and a buffer append per tag and
/// attribute, an escaping pass that allocates per value) was most of the export's time — the
/// goal of 100,000 instances a second leaves 10 µs per instance. So tags and attributes, which
/// come from the model, are prepared once per class, and values are escaped here exactly as
/// xmlTextWriterWriteString escapes them (`appendText`; a test holds the two to the same bytes).
/// The document around the instances — declaration, root, class declarations — is still written
/// element by element with xmlTextWriter, and every byte goes out through its output buffer.
struct MarkupBuffer {
    var bytes: [UInt8] = []
    /// Characters XML 1.0 cannot carry, dropped from values.
    var dropped = 0
    /// Embedded-instance values written as plain strings (they were not CIM-XML).
    var plainEmbedded = 0

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    @inline(__always)
    mutating func append(_ markup: [UInt8]) { bytes.append(contentsOf: markup) }

    @inline(__always)
    mutating func append(_ markup: Slice<UnsafeRawBufferPointer>) { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: markup)) }

    mutating func append(_ markup: StaticString) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: markup.utf8Start, count: markup.utf8CodeUnitCount))
    }

    /// A value as element content: `<`, `>`, `&`, `"` and carriage return as references (what
    /// libxml2 writes), characters XML 1.0 cannot carry (control characters other than tab,
    /// line feed and carriage return; U+FFFE, U+FFFF) dropped and counted.
    mutating func appendText(_ text: UnsafeRawBufferPointer) {
        // Most values need nothing: find the first byte that does and copy up to it at once.
        var start = 0
        var index = 0
        let count = text.count
        while index < count {
            let byte = text[index]
            guard Self.special[Int(byte)] else { index += 1; continue }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[start..<index]))
            switch byte {
            case UInt8(ascii: "<"): append("&lt;")
            case UInt8(ascii: ">"): append("&gt;")
            case UInt8(ascii: "&"): append("&amp;")
            case UInt8(ascii: "\""): append("&quot;")
            case 0x0D: append("&#13;")
            case 0xEF:
                // U+FFFE and U+FFFF are EF BF BE and EF BF BF; other EF sequences are fine.
                if index + 2 < count, text[index + 1] == 0xBF, text[index + 2] == 0xBE || text[index + 2] == 0xBF {
                    dropped += 1
                    index += 3
                    start = index
                    continue
                }
                bytes.append(byte)
            default:
                dropped += 1  // a control character
            }
            index += 1
            start = index
        }
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[start..<count]))
    }

    mutating func appendText(_ text: String) {
        var text = text
        text.withUTF8 { appendText(UnsafeRawBufferPointer($0)) }
    }

    /// Bytes `appendText` looks at: the escaped ones, control characters, and 0xEF.
    static let special: [Bool] = (0..<256).map { byte in
        switch byte {
        case 0x09, 0x0A: false
        case 0..<0x20: true
        case 0x22, 0x26, 0x3C, 0x3E, 0xEF: true
        default: false
        }
    }
}

/// One class's instances as CIM-XML, from its rows as `columns(of:)` selects
/// them: the tags around every property prepared once, an instance written with a few copies
/// and one escaping pass per value. An instance is one line of the document:
///
///     <VALUE.OBJECTWITHPATH><INSTANCEPATH>…<INSTANCENAME CLASSNAME="C"><KEYBINDING …>…
///     </INSTANCENAME></INSTANCEPATH><INSTANCE CLASSNAME="C"><PROPERTY …/>…</INSTANCE></VALUE.OBJECTWITHPATH>
struct ClassMarkup {
    let cls: ClassMapping
    private let namespacePath: [UInt8]
    private let catalog: ModelCatalog
    /// Every prepared tag of the class, one after another; slots point into it. (Plain offsets
    /// rather than an array per tag: walking the properties then copies no reference-counted
    /// values, which at sixty properties an instance was a quarter of the export's time.)
    private let arena: [UInt8]
    private let slots: [Slot]
    /// Indexes into `slots` of the keys, in the class's key order.
    private let keys: [Int]
    private let objectStart: Range<Int>
    private let instanceStart: Range<Int>
    private let instanceOnlyStart: Range<Int>
    /// The referenced instances' VALUE.REFERENCE markup by instance id: an association refers
    /// to its system once per component. Bounded; emptied when full.
    private var references: [Int64: (markup: [UInt8], dropped: Int)] = [:]
    private static let referenceCacheLimit = 8_192

    /// A property: where its value is in the row and the tags around it (ranges of `arena`).
    private struct Slot {
        let property: Int
        let type: DataType
        let isArray: Bool
        let isReference: Bool
        /// The value's column (a reference: the referenced instance's path).
        let column: Int
        /// A reference's referenced instance id column (-1: none).
        let idColumn: Int
        /// The property without a value.
        let empty: Range<Int>
        /// Before and after a value (a scalar: through `<VALUE>`; an array: through `<VALUE.ARRAY>`).
        let open: Range<Int>
        /// An embedded-instance property (DSP0201's EmbeddedObject attribute) ...
        let isEmbedded: Bool
        /// ... and its opening tags without the attribute, for a value that is not CIM-XML.
        let plainOpen: Range<Int>
        let close: Range<Int>
        /// The key binding's tags around its value (through `<KEYVALUE …>`), for keys.
        let keyOpen: Range<Int>
        let keyClose: Range<Int>
    }

    /// `namespacePath`: the NAMESPACEPATH element every instance path carries, escaped.
    init(_ cls: ClassMapping, catalog: ModelCatalog, embedded: EmbeddedProperties, namespacePath: [UInt8]) {
        self.cls = cls
        self.catalog = catalog
        self.namespacePath = namespacePath
        var arena: [UInt8] = []
        func add(_ markup: [UInt8]) -> Range<Int> {
            arena += markup
            return arena.count - markup.count..<arena.count
        }
        func add(_ markup: String) -> Range<Int> { add(Array(markup.utf8)) }
        var slots: [Slot] = []
        var column = 0
        for (index, p) in cls.properties.enumerated() {
            let kind = embedded.kind(cls, p)
            let plainAttributes = "TYPE=\"\(p.type == .object ? "string" : p.type.rawValue)\""
            let typeAttributes = plainAttributes + (kind.map { " EmbeddedObject=\"\($0)\"" } ?? "")
            let open: String, close: String, empty: String, plainOpen: String
            if p.isReference {
                let referenceClass = p.referenceClass.map { " REFERENCECLASS=\"\($0)\"" } ?? ""
                empty = "<PROPERTY.REFERENCE NAME=\"\(p.name)\"\(referenceClass)/>"
                open = "<PROPERTY.REFERENCE NAME=\"\(p.name)\"\(referenceClass)>"
                plainOpen = open
                close = "</PROPERTY.REFERENCE>"
            } else if p.isArray {
                empty = "<PROPERTY.ARRAY NAME=\"\(p.name)\" \(typeAttributes)/>"
                open = "<PROPERTY.ARRAY NAME=\"\(p.name)\" \(typeAttributes)><VALUE.ARRAY>"
                plainOpen = "<PROPERTY.ARRAY NAME=\"\(p.name)\" \(plainAttributes)><VALUE.ARRAY>"
                close = "</VALUE.ARRAY></PROPERTY.ARRAY>"
            } else {
                empty = "<PROPERTY NAME=\"\(p.name)\" \(typeAttributes)/>"
                open = "<PROPERTY NAME=\"\(p.name)\" \(typeAttributes)><VALUE>"
                plainOpen = "<PROPERTY NAME=\"\(p.name)\" \(plainAttributes)><VALUE>"
                close = "</VALUE></PROPERTY>"
            }
            let keyOpen =
                p.isReference
                ? "<KEYBINDING NAME=\"\(p.name)\">"
                : "<KEYBINDING NAME=\"\(p.name)\"><KEYVALUE VALUETYPE=\"\(Self.valueType(p.type))\" TYPE=\"\(p.type == .object ? "string" : p.type.rawValue)\">"
            let keyClose = p.isReference ? "</KEYBINDING>" : "</KEYVALUE></KEYBINDING>"
            slots.append(
                Slot(
                    property: index, type: p.type, isArray: p.isArray, isReference: p.isReference,
                    column: column, idColumn: p.isReference ? column + 1 : -1,
                    empty: add(empty), open: add(open), isEmbedded: kind != nil, plainOpen: add(plainOpen),
                    close: add(close), keyOpen: add(keyOpen), keyClose: add(keyClose)))
            column += p.isReference ? 2 : 1
        }
        keys = cls.keys.compactMap { key in cls.properties.firstIndex { $0.column == key.column } }
        objectStart = add(
            Array("\n      <VALUE.OBJECTWITHPATH><INSTANCEPATH>".utf8) + namespacePath
                + Array("<INSTANCENAME CLASSNAME=\"\(cls.name)\">".utf8))
        instanceStart = add("</INSTANCENAME></INSTANCEPATH><INSTANCE CLASSNAME=\"\(cls.name)\">")
        instanceOnlyStart = add("<INSTANCE CLASSNAME=\"\(cls.name)\">")
        self.arena = arena
        self.slots = slots
    }

    /// The select list for the class's rows (alias `t`): every property in order, a reference
    /// as the referenced instance's path followed by its id.
    static func columns(of cls: ClassMapping) -> SQL {
        cls.properties.map { p -> SQL in
            let column = p.sqlColumn
            return p.isReference
                ? "(SELECT path FROM cimdb.instance WHERE id = t.\(column)), t.\(column)"
                : "t.\(column)"
        }.joined(separator: ", ")
    }

    /// One `VALUE.OBJECTWITHPATH`, on a line of its own.
    mutating func appendObject(_ rows: RawRows, _ row: Int, to out: inout MarkupBuffer) throws {
        let arena = self.arena
        try arena.withUnsafeBytes { arena in
            out.append(arena[objectStart])
            for index in keys {
                let slot = slots[index]
                out.append(arena[slot.keyOpen])
                if slot.isReference {
                    try appendReference(rows, row, slot, to: &out)
                } else if let text = rows.bytes(row, slot.column) {
                    Self.appendScalar(text, slot.type, to: &out)
                }
                out.append(arena[slot.keyClose])
            }
            out.append(arena[instanceStart])
            try appendProperties(rows, row, arena, to: &out)
        }
        out.append("</INSTANCE></VALUE.OBJECTWITHPATH>")
    }

    /// The `INSTANCE` element alone (an indication's embedded SourceInstance).
    mutating func appendInstance(_ rows: RawRows, _ row: Int, to out: inout MarkupBuffer) throws {
        let arena = self.arena
        try arena.withUnsafeBytes { arena in
            out.append(arena[instanceOnlyStart])
            try appendProperties(rows, row, arena, to: &out)
        }
        out.append("</INSTANCE>")
    }

    private mutating func appendProperties(
        _ rows: RawRows, _ row: Int, _ arena: UnsafeRawBufferPointer, to out: inout MarkupBuffer
    ) throws(ExportError) {
        for index in slots.indices {
            let slot = slots[index]
            guard let text = rows.bytes(row, slot.column) else {
                out.append(arena[slot.empty])
                continue
            }
            if slot.isEmbedded, !Self.holdsCIMXML(text, isArray: slot.isArray) {
                // DSP0201 wants an embedded instance as its INSTANCE element's text; a value
                // that is not (say, MOF) goes out as the plain string it is, and is counted.
                out.append(arena[slot.plainOpen])
                out.plainEmbedded += 1
            } else {
                out.append(arena[slot.open])
            }
            if slot.isReference {
                try appendReference(rows, row, slot, to: &out)
            } else if slot.isArray {
                Self.appendArray(text, slot.type, to: &out)
            } else {
                Self.appendScalar(text, slot.type, to: &out)
            }
            out.append(arena[slot.close])
        }
    }

    /// A reference's VALUE.REFERENCE, from the cache or made from its path.
    private mutating func appendReference(_ rows: RawRows, _ row: Int, _ slot: Slot, to out: inout MarkupBuffer) throws(ExportError) {
        let id = slot.idColumn < 0 ? nil : rows.bytes(row, slot.idColumn).flatMap(Self.integer)
        if let id, let cached = references[id] {
            out.append(cached.markup)
            out.dropped += cached.dropped
            return
        }
        guard let path = rows.string(row, slot.column) else {
            throw ExportError.danglingReference(property: "\(cls.name).\(cls.properties[slot.property].name)")
        }
        var markup = MarkupBuffer()
        try appendReference(path: path, to: &markup)
        out.append(markup.bytes)
        out.dropped += markup.dropped
        guard let id else { return }
        if references.count >= Self.referenceCacheLimit { references.removeAll(keepingCapacity: true) }
        references[id] = (markup.bytes, markup.dropped)
    }

    /// VALUE.REFERENCE with the INSTANCEPATH of a canonical path, its keys typed by the
    /// referenced class (nested references recursively).
    private func appendReference(path: String, to out: inout MarkupBuffer) throws(ExportError) {
        let parsed: InstancePath
        do {
            parsed = try InstancePath.parse(path)
        } catch {
            throw ExportError.badStoredPath(path)
        }
        let target = catalog.class(named: parsed.className)
        out.append("<VALUE.REFERENCE><INSTANCEPATH>")
        out.append(namespacePath)
        out.append("<INSTANCENAME CLASSNAME=\"")
        out.appendText(target?.name ?? parsed.className)
        out.append("\">")
        for binding in parsed.keys {
            let property = target?.property(named: binding.name)
            out.append("<KEYBINDING NAME=\"")
            out.appendText(property?.name ?? binding.name)
            out.append("\">")
            if property?.isReference == true, let nested = binding.value.stringValue {
                try appendReference(path: nested, to: &out)
            } else {
                let type = property?.type ?? Self.type(of: binding.value)
                out.append("<KEYVALUE VALUETYPE=\"")
                out.append(Self.valueType(type))
                out.append("\" TYPE=\"")
                out.appendMarkup(type == .object ? "string" : type.rawValue)
                out.append("\">")
                out.appendText(Self.text(binding.value))
                out.append("</KEYVALUE>")
            }
            out.append("</KEYBINDING>")
        }
        out.append("</INSTANCENAME></INSTANCEPATH></VALUE.REFERENCE>")
    }

    /// Whether an embedded-instance value (every element of an array) is CIM-XML: an element's
    /// text, starting with `<` after any white space.
    static func holdsCIMXML(_ text: UnsafeRawBufferPointer, isArray: Bool) -> Bool {
        func isMarkup<C: Collection<UInt8>>(_ bytes: C) -> Bool {
            bytes.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D } == UInt8(ascii: "<")
        }
        guard isArray else { return isMarkup(text) }
        let elements = ArrayLiteral.parse(String(decoding: text, as: UTF8.self)) ?? []
        return elements.allSatisfy { $0.map { isMarkup($0.utf8) } ?? true }
    }

    /// A scalar's database text as its CIM-XML text: strings, datetimes and integers as they
    /// are (the database writes integers in decimal), booleans `true`/`false`, others converted.
    static func appendScalar(_ text: UnsafeRawBufferPointer, _ type: DataType, to out: inout MarkupBuffer) {
        switch type {
        case .string, .object, .datetime, .uint8, .sint8, .uint16, .sint16, .uint32, .sint32, .uint64, .sint64:
            out.appendText(text)
        case .boolean:
            out.append(text.first == UInt8(ascii: "t") ? "true" : "false")
        default:
            out.appendText(Self.text(ValueCoding.decodeText(String(decoding: text, as: UTF8.self), type)))
        }
    }

    /// An array's elements (PostgreSQL's array literal) as VALUE and VALUE.NULL elements.
    static func appendArray(_ text: UnsafeRawBufferPointer, _ type: DataType, to out: inout MarkupBuffer) {
        let elements = ArrayLiteral.parse(String(decoding: text, as: UTF8.self)) ?? []
        for element in elements {
            guard let element else {
                out.append("<VALUE.NULL/>")
                continue
            }
            out.append("<VALUE>")
            var text = element
            text.withUTF8 { appendScalar(UnsafeRawBufferPointer($0), type, to: &out) }
            out.append("</VALUE>")
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

    static func valueType(_ type: DataType) -> StaticString {
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

    /// A decimal integer's text as its value.
    static func integer(_ text: UnsafeRawBufferPointer) -> Int64? {
        guard !text.isEmpty, text.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in text {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int64(byte - 0x30)
        }
        return value
    }
}

extension MarkupBuffer {
    /// Markup made from the model at run time (a type name, say).
    mutating func appendMarkup(_ markup: String) {
        var markup = markup
        markup.withUTF8 { bytes.append(contentsOf: $0) }
    }
}
