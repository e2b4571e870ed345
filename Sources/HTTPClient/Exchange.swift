import Glibc

/// One request and its response on a TCP connection of their own, with blocking POSIX calls:
/// `HTTPClient` runs it on a thread of its own, never on Swift's cooperative pool.
///
/// The socket is non-blocking and every wait is a `poll` with the phase's timeout, cut in
/// slices of at most 100 ms so that a cancelled task gets its answer (`.cancelled`) quickly.
struct Exchange: Sendable {
    var endpoint: HTTPEndpoint
    var connectTimeout: Duration
    /// The longest wait for the first byte of the response, and between two reads or writes.
    var timeout: Duration
    var maximumBodyBytes: Int
    /// For `https://` endpoints.
    var tls: TLSContext?
    var isCancelled: @Sendable () -> Bool = { false }

    func run(_ request: HTTPRequest) throws(HTTPClientError) -> HTTPResponse {
        let bytes = try RequestHead.serialize(request, host: endpoint.hostHeader)
        if endpoint.isTLS && tls == nil { throw .tls("https://\(endpoint): this client has no TLS context (HTTPClient.tls)") }
        let socket = try connect()
        defer { close(socket) }
        var session: TLSSession?
        if endpoint.isTLS, let tls { session = try handshake(on: socket, context: tls) }
        defer { session?.free() }
        try send(bytes, on: socket, session: session)
        var parser = ResponseParser(requestMethod: request.method, maximumBodyBytes: maximumBodyBytes)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var phase = HTTPClientError.Phase.firstByte
        while true {
            let count: Int
            if let session {
                // TLS may hold decrypted bytes already: read first, wait when it wants more.
                // withUnsafeMutableBytes rethrows untyped: the typed error travels in a Result.
                let progress = chunk.withUnsafeMutableBytes { buffer in
                    Result { () throws(HTTPClientError) in try session.read(into: buffer) }
                }
                switch try progress.get() {
                case .done(let n): count = n
                case .closed: count = 0
                case .wantRead:
                    try wait(for: Int16(POLLIN), on: socket, timeout: timeout, phase: phase)
                    continue
                case .wantWrite:
                    try wait(for: Int16(POLLOUT), on: socket, timeout: timeout, phase: phase)
                    continue
                }
            } else {
                try wait(for: Int16(POLLIN), on: socket, timeout: timeout, phase: phase)
                count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                if count < 0 {
                    if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { throw .io(phase, errno: errno) }
                    continue
                }
            }
            if count > 0 {
                if let response = try parser.consume(chunk[0..<count]) { return response }
                phase = .read
            } else {
                return try parser.finish()
            }
        }
    }

    /// The TLS handshake, under the connect timeout.
    private func handshake(on socket: Int32, context: TLSContext) throws(HTTPClientError) -> TLSSession {
        let session = try TLSSession(socket: socket, host: endpoint.host, context: context)
        do throws(HTTPClientError) {
            while true {
                switch try session.handshake() {
                case .done: return session
                case .wantRead: try wait(for: Int16(POLLIN), on: socket, timeout: connectTimeout, phase: .connect)
                case .wantWrite: try wait(for: Int16(POLLOUT), on: socket, timeout: connectTimeout, phase: .connect)
                case .closed: throw .tls("TLS handshake: \(endpoint) closed the connection (not a TLS server?)")
                }
            }
        } catch {
            session.free()
            throw error
        }
    }

    /// A connected socket to the first address of the host that accepts.
    private func connect() throws(HTTPClientError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        // getaddrinfo has no timeout of its own; the resolver's (resolv.conf) applies. It runs
        // on this exchange's thread, like everything here.
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard status == 0, let list else {
            let detail = status == EAI_SYSTEM ? HTTPClientError.text(errno) : String(cString: gai_strerror(status))
            throw .resolve(host: endpoint.host, detail: detail)
        }
        defer { freeaddrinfo(list) }
        var failure = HTTPClientError.connect(address: endpoint.description, errno: ECONNREFUSED)
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        while let info = cursor {
            cursor = info.pointee.ai_next
            let socket = Glibc.socket(
                info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                info.pointee.ai_protocol)
            guard socket >= 0 else {
                failure = .connect(address: endpoint.description, errno: errno)
                continue
            }
            do throws(HTTPClientError) {
                if Glibc.connect(socket, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
                    guard errno == EINPROGRESS || errno == EINTR else { throw .connect(address: endpoint.description, errno: errno) }
                    try wait(for: Int16(POLLOUT), on: socket, timeout: connectTimeout, phase: .connect)
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error != 0 { throw .connect(address: endpoint.description, errno: error) }
                }
                return socket
            } catch {
                close(socket)
                if error == .cancelled { throw error }
                failure = error
            }
        }
        throw failure
    }

    private func send(_ bytes: [UInt8], on socket: Int32, session: TLSSession?) throws(HTTPClientError) {
        var sent = 0
        while sent < bytes.count {
            try wait(for: Int16(POLLOUT), on: socket, timeout: timeout, phase: .send)
            if let session {
                let progress = bytes.withUnsafeBytes { buffer in
                    Result { () throws(HTTPClientError) in try session.write(UnsafeRawBufferPointer(rebasing: buffer[sent...])) }
                }
                switch try progress.get() {
                case .done(let n): sent += n
                case .wantRead: try wait(for: Int16(POLLIN), on: socket, timeout: timeout, phase: .send)
                case .wantWrite: continue
                case .closed: throw .closed
                }
                continue
            }
            // MSG_NOSIGNAL: a peer that closed gives EPIPE here instead of killing the process with SIGPIPE.
            let count = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if count >= 0 {
                sent += count
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                throw .io(.send, errno: errno)
            }
        }
    }

    /// Waits until the socket is ready for `events` (or has an error to report, which the next
    /// call then reads), at most `timeout`.
    private func wait(for events: Int16, on socket: Int32, timeout: Duration, phase: HTTPClientError.Phase) throws(HTTPClientError) {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            if isCancelled() { throw .cancelled }
            let remaining = deadline - clock.now
            if remaining <= .zero { throw .timeout(phase) }
            let slice = min(remaining, .milliseconds(100))
            let milliseconds = Int32(slice.components.seconds * 1000 + slice.components.attoseconds / 1_000_000_000_000_000) + 1
            var descriptor = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw .io(phase, errno: errno) }
        }
    }
}

/// The bytes of a request's head and body, checked: nothing in a method, target or header can
/// end a line early or smuggle another request.
enum RequestHead {
    static func serialize(_ request: HTTPRequest, host: String) throws(HTTPClientError) -> [UInt8] {
        guard !request.method.isEmpty, request.method.utf8.allSatisfy(ResponseParser.isTokenByte) else {
            throw .invalidRequest("method \(request.method)")
        }
        guard request.target.hasPrefix("/"), request.target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalidRequest("target \(request.target)")
        }
        var head = "\(request.method) \(request.target) HTTP/1.1\r\nHost: \(host)\r\n"
        for field in request.headers {
            guard !field.name.isEmpty, field.name.utf8.allSatisfy(ResponseParser.isTokenByte) else {
                throw .invalidRequest("header name \(field.name)")
            }
            guard field.value.utf8.allSatisfy({ $0 != 0x0D && $0 != 0x0A && $0 != 0 }) else { throw .invalidRequest("header \(field.name)'s value") }
            if ["host", "content-length", "connection", "transfer-encoding"].contains(where: { HTTPHeaders.same($0, field.name) }) { continue }
            head += "\(field.name): \(field.value)\r\n"
        }
        if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method) {
            head += "Content-Length: \(request.body.count)\r\n"
        }
        // One request per connection: the agent sends a request every few seconds at most, so a
        // kept-alive connection would save little and bring back the hard parts (a server closing
        // an idle connection while a request is on its way, retrying it or not).
        head += "Connection: close\r\n\r\n"
        return Array(head.utf8) + request.body
    }
}
