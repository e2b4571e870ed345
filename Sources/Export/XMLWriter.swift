import CIM
import CLibXML2
import Dispatch
import Glibc
import ORM
import SQLCore
import Store
import Synchronization

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
    /// Embedded-instance values written as plain strings (they were not CIM-XML).
    var plainEmbedded = 0

    /// Writes to `path` ("-" for standard output), indented.
    convenience init(path: String) throws(ExportError) {
        try self.init(sink: try FileOutput(path: path).sink)
    }

    /// Writes to `sink`, in the chunks libxml2 flushes (a few kilobytes each); with `document`
    /// false, an element without the XML declaration (a fragment to embed), not indented.
    init(sink: XMLSink, document: Bool = true) throws(ExportError) {
        let context = Unmanaged.passUnretained(sink).toOpaque()
        guard
            let buffer = xmlOutputBufferCreateIO(
                { context, bytes, length in
                    guard let context, let bytes, length >= 0 else { return -1 }
                    let sink = Unmanaged<XMLSink>.fromOpaque(context).takeUnretainedValue()
                    return sink.write(UnsafeRawBufferPointer(start: bytes, count: Int(length))) ? length : -1
                }, { _ in 0 }, context, nil), let writer = xmlNewTextWriter(buffer)
        else { throw ExportError.output("cannot create the XML writer") }
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
            value.unicodeScalars.contains(where: Self.isForbidden)
        else { return value }
        var scalars = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            if Self.isForbidden(scalar) { dropped += 1 } else { scalars.append(scalar) }
        }
        return String(scalars)
    }

    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: false
        case 0..<0x20, 0xFFFE, 0xFFFF: true
        default: false
        }
    }

    private func check(_ status: Int32, _ what: String) throws(ExportError) {
        guard status < 0 else { return }
        // The output's own reason (a file's "No space left on device"), when it has one.
        if let sink, let failure = sink.finish() { throw failure }
        throw ExportError.output("libxml2 could not \(what) (out of disk space, or the output closed?)")
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

/// A file (or standard output) written in 1 MiB blocks by a thread of its own: libxml2 flushes
/// its buffer every 16 KB, and at gigabytes of output a write(2) per flush (its own file output)
/// cost more time in the kernel than making the markup did. On its own thread the kernel's copy
/// into the page cache (and any wait for writeback) overlaps with making the next blocks.
final class FileOutput: Sendable {
    private let descriptor: Int32
    private let path: String
    private let writer = DispatchQueue(label: "cimdb.export.file")
    /// Blocks handed to the writer and not yet written: memory stays bounded.
    private let inFlight = DispatchSemaphore(value: 4)
    private let state = Mutex<State>(State())
    private static let blockSize = 1 << 20

    private struct State {
        var buffer: [UInt8] = []
        var failure: ExportError?
    }

    init(path: String) throws(ExportError) {
        self.path = path
        if path == "-" {
            descriptor = STDOUT_FILENO
        } else {
            descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw ExportError.output("cannot write \(path): \(String(cString: strerror(errno)))") }
        }
    }

    deinit { if descriptor != STDOUT_FILENO { close(descriptor) } }

    var sink: XMLSink {
        XMLSink(
            write: { [self] bytes in
                let full: [UInt8]? = state.withLock { state in
                    state.buffer.append(contentsOf: bytes)
                    guard state.buffer.count >= Self.blockSize else { return nil }
                    defer { state.buffer = []; state.buffer.reserveCapacity(Self.blockSize + 64 * 1024) }
                    return state.buffer
                }
                if let full { submit(full) }
                return state.withLock { $0.failure == nil }
            },
            finish: { [self] in
                submit(
                    state.withLock { state in
                        defer { state.buffer = [] }; return state.buffer
                    })
                writer.sync {}
                return state.withLock { $0.failure }
            })
    }

    /// Queues a block for the writer thread (waiting while four are queued).
    private func submit(_ block: [UInt8]) {
        guard !block.isEmpty else { return }
        inFlight.wait()
        writer.async { [self] in
            defer { inFlight.signal() }
            guard state.withLock({ $0.failure == nil }) else { return }
            var offset = 0
            while offset < block.count {
                let written = block.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
                if written < 0 {
                    if errno == EINTR { continue }
                    let failure = ExportError.output("cannot write \(path): \(String(cString: strerror(errno)))")
                    state.withLock { $0.failure = failure }
                    return
                }
                offset += written
            }
        }
    }
}

/// Why an export failed or was refused.
public enum ExportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The filter names a class the installed model does not have.
    case unknownClass(String)
    /// The filter names a node no discovery result came from.
    case unknownNode(String)
    /// A stored reference the registry cannot resolve (the database is inconsistent).
    case danglingReference(property: String)
    /// A stored reference that does not parse as an instance path.
    case badStoredPath(String)
    /// The document could not be written (libxml2, the file, the reader).
    case output(String)

    /// Whether the request itself is at fault (a filter naming nothing), not the export.
    public var isRequestError: Bool {
        switch self {
        case .unknownClass, .unknownNode: true
        case .danglingReference, .badStoredPath, .output: false
        }
    }

    public var description: String {
        switch self {
        case .unknownClass(let name): "unknown class \(name) (not in the installed model)"
        case .unknownNode(let node): "unknown node \(node) (no discovery result from it)"
        case .danglingReference(let property): "\(property) refers to an instance the registry does not have"
        case .badStoredPath(let path): "a stored reference is not an instance path: \(path)"
        case .output(let reason): reason
        }
    }
}
