/// Reads an HTTP/1.1 response from bytes as they arrive, with no I/O: `Exchange` feeds it what
/// the socket gives, the tests feed it byte by byte. Bodies framed by `Content-Length`, by
/// chunked transfer coding, or by the end of the connection (RFC 9112 §6.3); interim 1xx
/// responses are skipped.
struct ResponseParser {
    /// A head (status line and fields) larger than this is refused.
    static let maximumHeadBytes = 64 * 1024

    private enum State {
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd
        case trailers
        case untilClose
        case complete
    }

    let requestMethod: String
    let maximumBodyBytes: Int
    private var state = State.head
    private var buffer: [UInt8] = []
    /// The first byte of `buffer` not read yet.
    private var position = 0
    private var headLines: [[UInt8]] = []
    private var headBytes = 0
    private var response = HTTPResponse(status: 0)
    private var receivedAny = false

    init(requestMethod: String = "GET", maximumBodyBytes: Int = 256 << 20) {
        self.requestMethod = requestMethod
        self.maximumBodyBytes = maximumBodyBytes
    }

    /// Reads more bytes: the response once it is complete (bytes after it are ignored), nil
    /// while more are needed.
    mutating func consume(_ bytes: some Collection<UInt8>) throws(HTTPClientError) -> HTTPResponse? {
        if case .complete = state { return response }
        if !bytes.isEmpty { receivedAny = true }
        buffer.append(contentsOf: bytes)
        try advance()
        if position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        } else if position > 16 * 1024 {
            buffer.removeFirst(position)
            position = 0
        }
        if case .complete = state { return response }
        return nil
    }

    /// The connection ended: the response when the end of the connection is the end of its
    /// body, else the error that says what was cut.
    mutating func finish() throws(HTTPClientError) -> HTTPResponse {
        switch state {
        case .complete:
            return response
        case .untilClose:
            state = .complete
            return response
        case .head:
            if !receivedAny { throw .closed }
            throw .malformedResponse("the connection closed in the response head")
        case .fixed(let remaining):
            throw .malformedResponse("the connection closed \(remaining) bytes before the end of the body")
        case .chunkSize, .chunkData, .chunkEnd, .trailers:
            throw .malformedResponse("the connection closed before the last chunk")
        }
    }

    // MARK: Steps

    private mutating func advance() throws(HTTPClientError) {
        while true {
            switch state {
            case .complete:
                return
            case .head:
                let before = position
                guard let line = readLine() else {
                    if headBytes + buffer.count - position > Self.maximumHeadBytes {
                        throw .malformedResponse("the response head is over \(Self.maximumHeadBytes) bytes")
                    }
                    return
                }
                headBytes += position - before
                if headBytes > Self.maximumHeadBytes { throw .malformedResponse("the response head is over \(Self.maximumHeadBytes) bytes") }
                if !line.isEmpty {
                    headLines.append(line)
                } else if !headLines.isEmpty {
                    // Empty lines before the status line are skipped (RFC 9112 §2.2).
                    try endHead()
                }
            case .fixed(let remaining):
                let taken = takeBody(upTo: remaining)
                if taken == 0 { return }
                state = remaining == taken ? .complete : .fixed(remaining: remaining - taken)
            case .chunkSize:
                guard let line = readLine() else { return }
                let size = try Self.chunkSize(line)
                if size == 0 {
                    state = .trailers
                } else {
                    guard response.body.count + size <= maximumBodyBytes else { throw tooLarge }
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let taken = takeBody(upTo: remaining)
                if taken == 0 { return }
                state = remaining == taken ? .chunkEnd : .chunkData(remaining: remaining - taken)
            case .chunkEnd:
                guard let line = readLine() else { return }
                guard line.isEmpty else { throw .malformedResponse("no line end after a chunk's data") }
                state = .chunkSize
            case .trailers:
                // Trailer fields are read and dropped: nothing the agent needs comes in them.
                guard let line = readLine() else { return }
                if line.isEmpty { state = .complete }
            case .untilClose:
                guard response.body.count + buffer.count - position <= maximumBodyBytes else { throw tooLarge }
                _ = takeBody(upTo: buffer.count - position)
                return
            }
        }
    }

    private var tooLarge: HTTPClientError { .malformedResponse("the body is over \(maximumBodyBytes) bytes") }

    /// Moves up to `limit` buffered bytes into the body; how many it moved.
    private mutating func takeBody(upTo limit: Int) -> Int {
        let count = min(limit, buffer.count - position)
        response.body.append(contentsOf: buffer[position..<(position + count)])
        position += count
        return count
    }

    /// The next line without its CRLF (a bare LF is accepted), or nil when it is not all there yet.
    private mutating func readLine() -> [UInt8]? {
        guard let end = buffer[position...].firstIndex(of: 0x0A) else { return nil }
        var line = Array(buffer[position..<end])
        if line.last == 0x0D { line.removeLast() }
        position = end + 1
        return line
    }

    private mutating func endHead() throws(HTTPClientError) {
        let (status, reason) = try Self.statusLine(headLines[0])
        var headers = HTTPHeaders()
        for line in headLines.dropFirst() {
            let field = try Self.field(line)
            headers.add(field.name, field.value)
        }
        headLines = []
        headBytes = 0
        if (100..<200).contains(status) && status != 101 {
            // An interim response (100 Continue, 103 Early Hints): the real one follows.
            return
        }
        response = HTTPResponse(status: status, reason: reason, headers: headers)
        state = try framing(status: status, headers: headers)
    }

    /// How the body ends (RFC 9112 §6.3).
    private func framing(status: Int, headers: HTTPHeaders) throws(HTTPClientError) -> State {
        if requestMethod == "HEAD" || status == 204 || status == 304 || (100..<200).contains(status) { return .complete }
        let codings = headers.values("Transfer-Encoding").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingSpaces.lowercased() }.filter { !$0.isEmpty }
        if !codings.isEmpty {
            // No Accept-Encoding is sent, so a server has no reason to compress: only chunked.
            guard codings.allSatisfy({ $0 == "chunked" || $0 == "identity" }) else {
                throw .malformedResponse("unsupported transfer coding \(codings.joined(separator: ", "))")
            }
            return codings.last == "chunked" ? .chunkSize : .untilClose
        }
        let lengths = Set(headers.values("Content-Length").flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces })
        guard let text = lengths.first else { return .untilClose }
        guard lengths.count == 1, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text.utf8.count <= 15, let length = Int(text) else {
            throw .malformedResponse("invalid Content-Length \(headers.values("Content-Length").joined(separator: ", "))")
        }
        guard length <= maximumBodyBytes else { throw tooLarge }
        return length == 0 ? .complete : .fixed(remaining: length)
    }

    // MARK: Lines

    /// `HTTP/1.x SSS reason`.
    static func statusLine(_ line: [UInt8]) throws(HTTPClientError) -> (Int, String) {
        let text = String(decoding: line, as: UTF8.self)
        let prefix = Array("HTTP/1.".utf8)
        guard line.count >= 12, Array(line[0..<7]) == prefix, isDigit(line[7]), line[8] == 0x20,
            line[9...11].allSatisfy(isDigit), line.count == 12 || line[12] == 0x20
        else {
            throw .malformedResponse("not an HTTP/1.x status line: \(text.prefix(80))")
        }
        let status = line[9...11].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        let reason = line.count > 13 ? String(decoding: line[13...], as: UTF8.self) : ""
        return (status, reason)
    }

    /// `name: value`, the value without surrounding spaces.
    static func field(_ line: [UInt8]) throws(HTTPClientError) -> HTTPHeaders.Field {
        guard let colon = line.firstIndex(of: 0x3A), colon > 0, line[0] != 0x20, line[0] != 0x09,
            line[..<colon].allSatisfy(isTokenByte)
        else {
            throw .malformedResponse("invalid header line: \(String(decoding: line.prefix(80), as: UTF8.self))")
        }
        let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces
        return HTTPHeaders.Field(name: String(decoding: line[..<colon], as: UTF8.self), value: value)
    }

    /// A chunk-size line: hex digits, then optional `;extensions`.
    static func chunkSize(_ line: [UInt8]) throws(HTTPClientError) -> Int {
        let digits = line.prefix { $0 != 0x3B && $0 != 0x20 && $0 != 0x09 }
        guard !digits.isEmpty, digits.count <= 15, let size = Int(String(decoding: digits, as: UTF8.self), radix: 16) else {
            throw .malformedResponse("invalid chunk size line: \(String(decoding: line.prefix(40), as: UTF8.self))")
        }
        return size
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// tchar (RFC 9110 §5.6.2).
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingSpaces: String {
        var text = String(self)[...]
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return String(text)
    }
}
