import SQLCore

/// Appends rows to a `COPY … FROM STDIN` in PostgreSQL's text format; handed to the closure of
/// ``Connection/copyIn(_:_:)``. Data goes to the server in chunks of about 32 KB as it grows.
public struct CopyInWriter {
    /// Bytes buffered before they are sent (16–64 KB chunks are the measured sweet spot).
    static let chunkSize = 32 * 1024

    let connection: Connection
    var buffer: [UInt8] = []
    /// The first error sending data hit; later rows are dropped and ``Connection/copyIn(_:_:)`` reports it.
    var failure: PostgresError?

    /// Rows appended so far.
    public private(set) var rowCount = 0

    init(connection: Connection) {
        self.connection = connection
        buffer.reserveCapacity(Self.chunkSize + 4096)
    }

    /// Appends one row. Fields are escaped for the text format (backslash, tab, newline and
    /// carriage return); `nil` is `NULL` (`\N`). The number of fields must match the COPY's
    /// column list, or the server rejects the row and the whole COPY.
    public mutating func appendRow(_ fields: [String?]) {
        guard failure == nil else { return }
        for (index, field) in fields.enumerated() {
            if index > 0 { buffer.append(0x09) }
            guard let field else {
                buffer.append(0x5C)
                buffer.append(UInt8(ascii: "N"))
                continue
            }
            Self.appendEscaped(field, to: &buffer)
        }
        buffer.append(0x0A)
        rowCount += 1
        if buffer.count >= Self.chunkSize { flush() }
    }

    /// Appends data already in the COPY's format (whole rows, as ``Connection/copyOut(_:)``
    /// returns them); `rows` is added to ``rowCount``.
    public mutating func appendData(_ data: [UInt8], rows: Int = 0) {
        guard failure == nil else { return }
        var offset = 0
        while offset < data.count {
            let take = min(Self.chunkSize - buffer.count, data.count - offset)
            buffer.append(contentsOf: data[offset..<offset + take])
            offset += take
            if buffer.count >= Self.chunkSize { flush() }
        }
        rowCount += rows
    }

    /// Sends what is buffered.
    mutating func flush() {
        guard failure == nil, !buffer.isEmpty else { return }
        do {
            try connection.putCopyData(buffer)
        } catch {
            failure = error
        }
        buffer.removeAll(keepingCapacity: true)
    }

    static func appendEscaped(_ field: String, to buffer: inout [UInt8]) {
        // Most fields need no escape: copied in one go.
        if !field.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            buffer.append(contentsOf: field.utf8)
            return
        }
        for byte in field.utf8 {
            switch byte {
            case 0x5C: buffer.append(0x5C); buffer.append(0x5C)
            case 0x09: buffer.append(0x5C); buffer.append(UInt8(ascii: "t"))
            case 0x0A: buffer.append(0x5C); buffer.append(UInt8(ascii: "n"))
            case 0x0D: buffer.append(0x5C); buffer.append(UInt8(ascii: "r"))
            default: buffer.append(byte)
            }
        }
    }
}
