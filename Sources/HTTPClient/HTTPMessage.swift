/// Header fields in the order they were given or received; names compare case-insensitively
/// (RFC 9110 §5.1).
public struct HTTPHeaders: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String
    }

    public private(set) var fields: [Field] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { add(name, value) }
    }

    public mutating func add(_ name: String, _ value: String) { fields.append(Field(name: name, value: value)) }

    /// Replaces every field of this name with one.
    public mutating func set(_ name: String, _ value: String) {
        fields.removeAll { Self.same($0.name, name) }
        add(name, value)
    }

    /// The first value of the field `name` (any case), or nil.
    public subscript(_ name: String) -> String? { fields.first { Self.same($0.name, name) }?.value }

    /// Every value of the field `name`, in order.
    public func values(_ name: String) -> [String] { fields.filter { Self.same($0.name, name) }.map(\.value) }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    /// ASCII case-insensitive comparison (field names are tokens: ASCII only).
    static func same(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { lower($0) == lower($1) }
    }

    static func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
}

/// A request: method, target (path and query, as sent on the request line), headers, body.
/// `Host`, `Content-Length` and `Connection` are the client's.
public struct HTTPRequest: Sendable, Hashable {
    public var method: String
    public var target: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String, target: String, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
    }
}

/// A server's answer, whatever its status.
public struct HTTPResponse: Sendable, Hashable {
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, reason: String = "", headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }
}

/// Where requests go: the host and port of an `http://` or `https://` URL. A path in the URL is
/// not used: requests carry their own absolute target.
public struct HTTPEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// `https://`: the exchange runs over TLS.
    public var isTLS: Bool

    public init(host: String, port: Int? = nil, tls: Bool = false) {
        self.host = host
        self.port = port ?? (tls ? 443 : 80)
        self.isTLS = tls
    }

    /// Parses `http[s]://host[:port][/path]`; an IPv6 address in brackets (`http://[::1]:7480`).
    public init(url: String) throws(HTTPClientError) {
        let lowered = url.lowercased()
        let tls = lowered.hasPrefix("https://")
        let scheme = tls ? "https://" : "http://"
        guard url.utf8.count > scheme.utf8.count, lowered.hasPrefix(scheme) else { throw .invalidURL(url) }
        var authority = Substring(url.dropFirst(scheme.count))
        if let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { authority = authority[..<end] }
        guard !authority.contains("@") else { throw .invalidURL(url) }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalidURL(url) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw .invalidURL(url) }
                portText = rest.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw .invalidURL(url) }
        var port = tls ? 443 : 80
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else { throw .invalidURL(url) }
            port = number
        }
        self.init(host: String(host), port: port, tls: tls)
    }

    /// The `Host` header's value.
    var hostHeader: String { port == (isTLS ? 443 : 80) ? bracketedHost : "\(bracketedHost):\(port)" }

    private var bracketedHost: String { host.contains(":") ? "[\(host)]" : host }

    public var description: String { "\(bracketedHost):\(port)" }
}
