import Foundation
import Glibc
@testable import HTTPClient
import Testing

/// The client against a real listener on a local port: framing, errors, timeouts.
@Suite("HTTP client over a live socket")
struct HTTPClientTests {
    @Test("a POST's body arrives whole; a Content-Length response comes back with its headers, looked up in any case")
    func contentLength() async throws {
        let received = Shared<ReceivedRequest?>(nil)
        let server = try TestServer { socket in
            guard let request = readRequest(socket) else { return }
            received.set(request)
            writeAll(socket, "HTTP/1.1 201 Created\r\ncontent-length: \(request.body.count)\r\nX-Echo: yes\r\n\r\n")
            writeAll(socket, request.body)
        }
        defer { server.stop() }
        // Binary, with CR LF and NUL in it, large enough for several reads and writes.
        let body = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let response = try await HTTPClient().send(
            HTTPRequest(method: "POST", target: "/v1/results?x=1", headers: ["Content-Type": "application/x-test"], body: body), to: server.url)
        #expect(response.status == 201 && response.reason == "Created")
        #expect(response.headers["Content-Length"] == "300000" && response.headers["x-echo"] == "yes" && response.headers["X-ECHO"] == "yes")
        #expect(response.body == body)
        let request = try #require(received.get())
        let lines = request.head.split(separator: "\r\n").map(String.init)
        #expect(lines.first == "POST /v1/results?x=1 HTTP/1.1")
        #expect(lines.contains("Host: 127.0.0.1:\(server.port)") && lines.contains("Content-Type: application/x-test"))
        #expect(lines.contains("Content-Length: 300000") && lines.contains("Connection: close"))
        #expect(request.body == body)
    }

    @Test("a chunked response, its chunks sent apart, with extensions and a trailer, ends at its last chunk")
    func chunked() async throws {
        let release = DispatchSemaphore(value: 0)
        let server = try TestServer { socket in
            guard readRequest(socket) != nil else { return }
            writeAll(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in ["5\r\nhello\r\n", "1;name=value\r\n", " \r\n", "0000A\r\n0123456789\r\n", "0\r\nX-Trailer: t\r\n\r\n"] {
                usleep(20_000)
                writeAll(socket, piece)
            }
            // Held open until the test has its response (or for 90 s): a client waiting for the
            // close instead of stopping at the last chunk would take the 90 s. (The bound below
            // leaves room for the suite's load: other suites hold the cooperative threads for
            // seconds at a time, and this task resumed 22 s late once.)
            _ = release.wait(timeout: .now() + 90)
        }
        defer { server.stop() }
        let start = ContinuousClock.now
        let response = try await HTTPClient().send(HTTPRequest(method: "GET", target: "/"), to: server.url)
        release.signal()
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "hello 0123456789")
        #expect(ContinuousClock.now - start < .seconds(60), "returned at the last chunk, not at the close")
    }

    @Test("without a length, the body ends with the connection")
    func untilClose() async throws {
        let server = try TestServer { socket in
            guard readRequest(socket) != nil else { return }
            writeAll(socket, "HTTP/1.0 503 Service Unavailable\r\nRetry-After: 3\r\n\r\nbusy")
        }
        defer { server.stop() }
        let response = try await HTTPClient().send(HTTPRequest(method: "GET", target: "/health"), to: server.url)
        #expect(response.status == 503 && response.headers["retry-after"] == "3" && response.body == Array("busy".utf8))
    }

    @Test("a port nobody listens on: connection refused")
    func refused() async throws {
        let server = try TestServer { _ in }
        let port = server.port
        server.stop()
        await #expect(throws: HTTPClientError.connect(address: "127.0.0.1:\(port)", errno: ECONNREFUSED)) {
            try await HTTPClient().send(HTTPRequest(method: "GET", target: "/"), to: "http://127.0.0.1:\(port)")
        }
    }

    @Test("a server that accepts and never answers times out waiting for the response")
    func timeout() async throws {
        let release = DispatchSemaphore(value: 0)
        let server = try TestServer { socket in
            _ = readRequest(socket)
            _ = release.wait(timeout: .now() + 300)
        }
        defer {
            release.signal()
            server.stop()
        }
        let start = ContinuousClock.now
        // The bounds are wide: when the whole suite runs, other suites' blocking calls can hold
        // the two cooperative threads for many seconds before this task resumes. The server
        // holds the connection for 300 s, so ending well before is the client's timeout.
        await #expect(throws: HTTPClientError.timeout(.firstByte)) {
            try await HTTPClient(timeout: .milliseconds(300)).send(HTTPRequest(method: "POST", target: "/", body: [1]), to: server.url)
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(120))
    }

    @Test("a cancelled task gets its answer at once, not at the timeout")
    func cancellation() async throws {
        let release = DispatchSemaphore(value: 0)
        let server = try TestServer { socket in
            _ = readRequest(socket)
            _ = release.wait(timeout: .now() + 300)
        }
        defer {
            release.signal()
            server.stop()
        }
        let start = ContinuousClock.now
        // Server and client would wait 300 s; well before that is the cancellation (wide bound:
        // under the whole suite's load the task may resume seconds late).
        let task = Task { try await HTTPClient(timeout: .seconds(300)).send(HTTPRequest(method: "GET", target: "/"), to: server.url) }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        await #expect(throws: HTTPClientError.cancelled) { try await task.value }
        #expect(ContinuousClock.now - start < .seconds(120))
    }

    @Test("a server that closes without answering, and one that cuts the body short")
    func earlyClose() async throws {
        let silent = try TestServer { socket in _ = readRequest(socket) }
        defer { silent.stop() }
        await #expect(throws: HTTPClientError.closed) {
            try await HTTPClient().send(HTTPRequest(method: "GET", target: "/"), to: silent.url)
        }
        let short = try TestServer { socket in
            _ = readRequest(socket)
            writeAll(socket, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")
        }
        defer { short.stop() }
        await #expect(throws: HTTPClientError.malformedResponse("the connection closed 5 bytes before the end of the body")) {
            try await HTTPClient().send(HTTPRequest(method: "GET", target: "/"), to: short.url)
        }
    }

    @Test("requests that could split a line are refused before anything is sent")
    func invalidRequests() async {
        await #expect(throws: HTTPClientError.invalidRequest("header X's value")) {
            try await HTTPClient().send(HTTPRequest(method: "GET", target: "/", headers: ["X": "a\r\nInjected: 1"]), to: "http://127.0.0.1:1")
        }
        await #expect(throws: HTTPClientError.invalidRequest("target /a b")) {
            try await HTTPClient().send(HTTPRequest(method: "GET", target: "/a b"), to: "http://127.0.0.1:1")
        }
        await #expect(throws: HTTPClientError.invalidURL("ftp://s1:7480")) {
            try await HTTPClient().send(HTTPRequest(method: "GET", target: "/"), to: "ftp://s1:7480")
        }
        await #expect(throws: HTTPClientError.tls("https://127.0.0.1:1: this client has no TLS context (HTTPClient.tls)")) {
            try await HTTPClient().send(HTTPRequest(method: "GET", target: "/"), to: "https://127.0.0.1:1")
        }
    }
}
