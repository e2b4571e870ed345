import CLibXML2

/// A streaming XML writer over libxml2's xmlTextWriter: elements go out as they are written,
/// so a document of any size takes constant memory. Text and attribute values are escaped by
/// libxml2; characters XML 1.0 cannot carry at all (control characters other than tab, line
/// feed and carriage return, U+FFFE, U+FFFF) are dropped here and counted in `dropped`, since
/// libxml2 would write them raw and make the document unreadable.
final class XMLWriter {
    private let writer: xmlTextWriterPtr
    /// Where the document goes when it is not a file (kept alive for libxml2's callbacks).
    private let sink: XMLSink?
    private let isDocument: Bool
    /// Characters dropped because XML 1.0 cannot represent them.
    private(set) var dropped = 0

    /// Writes to `path` ("-" for standard output), indented.
    init(path: String) throws(ExportError) {
        guard let writer = xmlNewTextWriterFilename(path, 0) else { throw ExportError("cannot write \(path)") }
        self.writer = writer
        sink = nil
        isDocument = true
        try startDocument()
    }

    /// Writes to `sink`, in the chunks libxml2 flushes (a few kilobytes each); with `document`
    /// false, an element without the XML declaration (a fragment to embed), not indented.
    init(sink: XMLSink, document: Bool = true) throws(ExportError) {
        let context = Unmanaged.passUnretained(sink).toOpaque()
        guard let buffer = xmlOutputBufferCreateIO({ context, bytes, length in
            guard let context, let bytes, length >= 0 else { return -1 }
            let sink = Unmanaged<XMLSink>.fromOpaque(context).takeUnretainedValue()
            return sink.write(UnsafeRawBufferPointer(start: bytes, count: Int(length))) ? length : -1
        }, { _ in 0 }, context, nil), let writer = xmlNewTextWriter(buffer) else { throw ExportError("cannot create the XML writer") }
        self.writer = writer
        self.sink = sink
        isDocument = document
        if document { try startDocument() }
    }

    private func startDocument() throws(ExportError) {
        xmlTextWriterSetIndent(writer, 1)
        xmlTextWriterSetIndentString(writer, "  ")
        try check(xmlTextWriterStartDocument(writer, "1.0", "UTF-8", nil), "start the document")
    }

    deinit { xmlFreeTextWriter(writer) }

    // Names are static strings (their bytes are passed as they are); values go through
    // withCString, which lends a native string's own bytes: no copy per call.

    func start(_ element: StaticString) throws(ExportError) {
        try flushMarkup()
        try check(xmlTextWriterStartElement(writer, element.utf8Start), "start <\(element)>")
    }

    func attribute(_ name: StaticString, _ value: String) throws(ExportError) {
        try flushMarkup()
        let status = clean(value).withCString { v in
            v.withMemoryRebound(to: UInt8.self, capacity: 1) { xmlTextWriterWriteAttribute(writer, name.utf8Start, $0) }
        }
        try check(status, "write attribute \(name)")
    }

    func text(_ value: String) throws(ExportError) {
        try flushMarkup()
        let status = clean(value).withCString { v in
            v.withMemoryRebound(to: UInt8.self, capacity: 1) { xmlTextWriterWriteString(writer, $0) }
        }
        try check(status, "write text")
    }

    /// Markup prepared once from the model (tags and attributes with model names, never data),
    /// written as it is: one call instead of one per tag and attribute. Data always goes
    /// through `text` or `attribute`, which libxml2 escapes.
    ///
    /// Consecutive markup is collected and handed to libxml2 in one call before anything else
    /// is written (a run of NULL properties is one call).
    func raw(_ markup: [UInt8]) {
        pendingMarkup.append(contentsOf: markup)
    }

    private var pendingMarkup: [UInt8] = []

    private func flushMarkup() throws(ExportError) {
        guard !pendingMarkup.isEmpty else { return }
        let status = pendingMarkup.withUnsafeBufferPointer { xmlTextWriterWriteRawLen(writer, $0.baseAddress, Int32($0.count)) }
        pendingMarkup.removeAll(keepingCapacity: true)
        try check(status, "write markup")
    }

    func end() throws(ExportError) {
        try flushMarkup()
        try check(xmlTextWriterEndElement(writer), "end an element")
    }

    /// `<element attributes…>text</element>` (or empty when `text` is nil).
    func element(_ name: StaticString, _ attributes: KeyValuePairs<StaticString, String> = [:], text: String? = nil) throws(ExportError) {
        try start(name)
        for (key, value) in attributes { try attribute(key, value) }
        if let text { try self.text(text) }
        try end()
    }

    /// Closes every open element and flushes the output.
    func finish() throws(ExportError) {
        try flushMarkup()
        if isDocument { try check(xmlTextWriterEndDocument(writer), "end the document") }
        try check(xmlTextWriterFlush(writer), "flush")
    }

    /// `value` without the characters XML 1.0 cannot carry (counted).
    func clean(_ value: String) -> String {
        // Bytes first: every forbidden character is a control byte or starts with 0xEF.
        guard value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D) || $0 == 0xEF }),
              value.unicodeScalars.contains(where: Self.isForbidden) else { return value }
        var scalars = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            if Self.isForbidden(scalar) { dropped += 1 } else { scalars.append(scalar) }
        }
        return String(scalars)
    }

    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: false
        case 0 ..< 0x20, 0xFFFE, 0xFFFF: true
        default: false
        }
    }

    private func check(_ status: Int32, _ what: String) throws(ExportError) {
        if status < 0 { throw ExportError("libxml2 could not \(what) (out of disk space, or the output closed?)") }
    }
}

/// Where a streamed document goes: `write` gets each chunk libxml2 flushes and returns false to
/// stop the export (the reader went away).
public final class XMLSink: @unchecked Sendable {
    // @unchecked: a sink is used by the one thread that runs its export.
    let write: (UnsafeRawBufferPointer) -> Bool

    public init(_ write: @escaping (UnsafeRawBufferPointer) -> Bool) { self.write = write }
}

public struct ExportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
