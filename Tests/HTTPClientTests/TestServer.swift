import Foundation
import Glibc
import Synchronization

/// A listener on 127.0.0.1 and a port of its own, for one test: each connection it accepts is
/// handed to `handle` on the listener's thread (one at a time), which answers however the
/// test needs — well, slowly, badly or not at all.
final class TestServer: Sendable {
    let port: Int
    private let listener: Int32
    private let finished = DispatchSemaphore(value: 0)

    init(handle: @escaping @Sendable (Int32) -> Void) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.listener = listener
        guard listener >= 0 else { throw TestServerError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound, listen(listener, 16) == 0 else { throw TestServerError("bind/listen: \(errno)") }
        port = Int(UInt16(bigEndian: address.sin_port))
        let finished = finished
        Thread.detachNewThread {
            while true {
                let connection = accept(listener, nil, nil)
                if connection < 0 { break }
                handle(connection)
                close(connection)
            }
            finished.signal()
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Stops accepting and waits for the connection being handled to end.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        finished.wait()
        close(listener)
    }
}

struct TestServerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What a test server received: the head as text, and the body its Content-Length framed.
struct ReceivedRequest: Sendable {
    var head: String
    var body: [UInt8]
}

/// Reads one request (head, then a Content-Length body) from a blocking socket.
func readRequest(_ socket: Int32) -> ReceivedRequest? {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    let terminator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
    var headEnd: Int?
    var needed = Int.max
    while bytes.count < needed {
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if count <= 0 { return nil }
        bytes += buffer[0..<count]
        if headEnd == nil, let end = (0...max(0, bytes.count - 4)).first(where: { Array(bytes[$0..<min($0 + 4, bytes.count)]) == terminator }) {
            headEnd = end + 4
            let head = String(decoding: bytes[0..<end], as: UTF8.self)
            let length =
                head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            needed = end + 4 + length
        }
    }
    guard let headEnd else { return nil }
    return ReceivedRequest(head: String(decoding: bytes[0..<(headEnd - 4)], as: UTF8.self), body: Array(bytes[headEnd...]))
}

func writeAll(_ socket: Int32, _ bytes: [UInt8]) {
    var sent = 0
    while sent < bytes.count {
        let count = bytes.withUnsafeBytes { send(socket, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
        if count <= 0 { return }
        sent += count
    }
}

func writeAll(_ socket: Int32, _ text: String) { writeAll(socket, Array(text.utf8)) }

/// A value tests and server threads share.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func get() -> Value { value.withLock { $0 } }
    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
}
