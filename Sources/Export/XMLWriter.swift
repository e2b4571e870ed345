import CLibXML2
import Glibc

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
    var dropped = 0

    /// Writes to `path` ("-" for standard output), indented.
    convenience init(path: String) throws(ExportError) {
        try self.init(sink: try FileOutput(path: path).sink)
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
        try check(xmlTextWriterStartElement(writer, element.utf8Start), "start <\(element)>")
    }

    func attribute(_ name: StaticString, _ value: String) throws(ExportError) {
        let status = clean(value).withCString { v in
            v.withMemoryRebound(to: UInt8.self, capacity: 1) { xmlTextWriterWriteAttribute(writer, name.utf8Start, $0) }
        }
        try check(status, "write attribute \(name)")
    }

    func text(_ value: String) throws(ExportError) {
        let status = clean(value).withCString { v in
            v.withMemoryRebound(to: UInt8.self, capacity: 1) { xmlTextWriterWriteString(writer, $0) }
        }
        try check(status, "write text")
    }

    /// Markup written as it is (instances made by `ClassMarkup`, whose values are escaped
    /// already): libxml2 copies it into its output buffer.
    func raw(_ markup: [UInt8]) throws(ExportError) {
        let status = markup.withUnsafeBufferPointer { xmlTextWriterWriteRawLen(writer, $0.baseAddress, Int32($0.count)) }
        try check(status, "write markup")
    }

    func end() throws(ExportError) {
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
        if isDocument { try check(xmlTextWriterEndDocument(writer), "end the document") }
        try check(xmlTextWriterFlush(writer), "flush")
        if let sink, let failure = sink.finish() { throw failure }
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
    /// Called once the document is complete: nil, or why its end could not be written.
    let finish: () -> ExportError?

    public init(_ write: @escaping (UnsafeRawBufferPointer) -> Bool) {
        self.write = write
        finish = { nil }
    }

    init(write: @escaping (UnsafeRawBufferPointer) -> Bool, finish: @escaping () -> ExportError?) {
        self.write = write
        self.finish = finish
    }
}

/// A file (or standard output) written in 1 MiB blocks: libxml2 flushes its buffer every 16 KB,
/// and at gigabytes of output a write(2) per flush (its own file output) cost the export more
/// time in the kernel than writing the markup took.
final class FileOutput {
    private let descriptor: Int32
    private let path: String
    private var buffer: [UInt8] = []
    private var failure: ExportError?
    private static let blockSize = 1 << 20

    init(path: String) throws(ExportError) {
        self.path = path
        if path == "-" {
            descriptor = STDOUT_FILENO
        } else {
            descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw ExportError("cannot write \(path): \(String(cString: strerror(errno)))") }
        }
        buffer.reserveCapacity(Self.blockSize)
    }

    deinit { if descriptor != STDOUT_FILENO { close(descriptor) } }

    var sink: XMLSink {
        XMLSink(write: { [self] bytes in
            buffer.append(contentsOf: bytes)
            return buffer.count < Self.blockSize || flush()
        }, finish: { [self] in
            _ = flush()
            return failure
        })
    }

    /// Writes out the buffer; false (and `failure` set) when the file cannot take it.
    private func flush() -> Bool {
        guard failure == nil else { return false }
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = ExportError("cannot write \(path): \(String(cString: strerror(errno)))")
                return false
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
        return true
    }
}

public struct ExportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
