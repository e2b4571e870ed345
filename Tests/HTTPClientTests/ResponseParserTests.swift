@testable import HTTPClient
import Testing

/// The response parser and the URL and request checks alone: bytes in, values out.
@Suite("HTTP response parsing")
struct ResponseParserTests {
    /// Feeds `text` one byte at a time, then the end of the connection when `close`.
    func parse(_ text: String, method: String = "GET", close: Bool = false) throws(HTTPClientError) -> HTTPResponse? {
        var parser = ResponseParser(requestMethod: method, maximumBodyBytes: 1000)
        for byte in text.utf8 {
            if let response = try parser.consume([byte]) { return response }
        }
        return close ? try parser.finish() : nil
    }

    @Test("byte by byte: interim 100 Continue skipped, chunked body, bare LF line ends tolerated")
    func byteByByte() throws {
        let response = try #require(
            try parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
        #expect(response.status == 200 && response.body == Array("abc".utf8))
    }

    @Test("no body after HEAD, 204 and 304, whatever Content-Length says")
    func noBody() throws {
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", method: "HEAD")?.body == [])
        #expect(try parse("HTTP/1.1 204 No Content\r\n\r\n")?.status == 204)
        #expect(try parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n")?.status == 304)
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")?.body == [])
    }

    @Test("a response needing more bytes is nil, not an error")
    func incomplete() throws {
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab") == nil)
        #expect(try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n") == nil)
        #expect(try parse("HTTP/1.1 200 OK\r\n\r\nuntil close", close: true)?.body == Array("until close".utf8))
    }

    @Test("malformed responses say what is wrong")
    func malformed() {
        #expect(throws: HTTPClientError.malformedResponse("not an HTTP/1.x status line: SSH-2.0-OpenSSH_9.2")) {
            try parse("SSH-2.0-OpenSSH_9.2\r\n\r\n")
        }
        #expect(throws: HTTPClientError.malformedResponse("invalid Content-Length 3, 4")) {
            try parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc")
        }
        #expect(throws: HTTPClientError.malformedResponse("invalid Content-Length -1")) { try parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") }
        #expect(throws: HTTPClientError.malformedResponse("invalid header line:  folded")) {
            try parse("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n")
        }
        #expect(throws: HTTPClientError.malformedResponse("invalid chunk size line: zz")) {
            try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        }
        #expect(throws: HTTPClientError.malformedResponse("unsupported transfer coding gzip, chunked")) {
            try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
        }
        #expect(throws: HTTPClientError.malformedResponse("the body is over 1000 bytes")) {
            try parse("HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n")
        }
        #expect(throws: HTTPClientError.malformedResponse("the connection closed before the last chunk")) {
            try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", close: true)
        }
        #expect(throws: HTTPClientError.closed) { try parse("", close: true) }
    }

    @Test("a head over 64 KB is refused")
    func largeHead() {
        var parser = ResponseParser()
        #expect(throws: HTTPClientError.malformedResponse("the response head is over 65536 bytes")) {
            _ = try parser.consume(Array("HTTP/1.1 200 OK\r\nX: ".utf8) + [UInt8](repeating: 0x61, count: 70_000))
        }
    }

    @Test("endpoints from http:// and https:// URLs; anything else is an invalid URL")
    func endpoints() throws {
        #expect(try HTTPEndpoint(url: "http://s1:7480") == HTTPEndpoint(host: "s1", port: 7480))
        #expect(try HTTPEndpoint(url: "HTTP://s1.example/base/path?q") == HTTPEndpoint(host: "s1.example", port: 80))
        #expect(try HTTPEndpoint(url: "http://[::1]:7480/") == HTTPEndpoint(host: "::1", port: 7480))
        #expect(HTTPEndpoint(host: "::1", port: 7480).hostHeader == "[::1]:7480" && HTTPEndpoint(host: "s1").hostHeader == "s1")
        #expect(try HTTPEndpoint(url: "https://s1") == HTTPEndpoint(host: "s1", port: 443, tls: true))
        #expect(try HTTPEndpoint(url: "https://s1:7443").hostHeader == "s1:7443" && HTTPEndpoint(host: "s1", tls: true).hostHeader == "s1")
        for bad in ["ftp://s1", "https://", "s1:7480", "http://", "http://:80", "http://s1:0", "http://s1:http", "http://u@s1", "http://[::1"] {
            #expect(throws: HTTPClientError.invalidURL(bad)) { try HTTPEndpoint(url: bad) }
        }
    }

    @Test("the request head: the client's own Host, Content-Length and Connection, user fields kept in order")
    func requestHead() throws {
        let bytes = try RequestHead.serialize(
            HTTPRequest(method: "POST", target: "/v1/x", headers: ["B": "2", "A": "1", "content-length": "99", "Host": "evil"], body: [0x41]),
            host: "s1:7480")
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == "POST /v1/x HTTP/1.1\r\nHost: s1:7480\r\nB: 2\r\nA: 1\r\nContent-Length: 1\r\nConnection: close\r\n\r\nA")
        #expect(
            String(decoding: try RequestHead.serialize(HTTPRequest(method: "GET", target: "/"), host: "h"), as: UTF8.self)
                == "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    }

    @Test("header names compare in any case; set replaces every field of the name")
    func headers() {
        var headers: HTTPHeaders = ["Set-Cookie": "a", "set-cookie": "b"]
        #expect(headers.values("SET-COOKIE") == ["a", "b"] && headers["Set-cookie"] == "a" && headers["Cookie"] == nil)
        headers.set("SET-cookie", "c")
        #expect(headers.values("set-cookie") == ["c"])
    }
}
