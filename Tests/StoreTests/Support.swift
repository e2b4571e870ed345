@testable import Store
import StoreTesting
import Testing

#if canImport(Glibc)
    import Glibc
    import SQLCore
#endif

/// The database the StoreTests share (tests that need an empty one call `TestPostgres.createDatabase()`).
enum SharedDatabase {
    private static let registry = Registry()

    static func conninfo() async throws -> String {
        try await registry.conninfo()
    }

    private actor Registry {
        var task: Task<String, any Error>?

        func conninfo() async throws -> String {
            if let task { return try await task.value }
            let task = Task { try await TestPostgres.createDatabase("store_tests") }
            self.task = task
            return try await task.value
        }
    }
}

/// Opens a connection to `conninfo`, runs `body` on a Dispatch thread (libpq blocks; the
/// cooperative pool must not), closes the connection.
func withConnection<T: Sendable>(
    to conninfo: String, _ body: @escaping @Sendable (Connection) throws -> T
) async throws -> T {
    try await Blocking.run {
        let connection = try Connection(conninfo)
        defer { connection.close() }
        return try body(connection)
    }
}

/// Runs `body` with a connection to the shared test database.
func withSharedConnection<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
    try await withConnection(to: try await SharedDatabase.conninfo(), body)
}

/// A unix-socket URI for the default port as the cluster writes it: `&port=5432` is added only
/// when PGPORT is set (it would otherwise redirect libpq).
func defaultPortURI(_ uri: String) -> String {
    ProcessEnvironment.current()["PGPORT"] == nil ? uri : uri + "&port=5432"
}

/// A unique name for a table or channel, so parallel tests never collide.
func uniqueName(_ prefix: String) -> String {
    var generator = SystemRandomNumberGenerator()
    return prefix + "_" + String(generator.next(), radix: 36)
}

/// A fresh temporary directory under /tmp (removed by the caller or left for the OS).
func makeTemporaryDirectory(_ label: String) throws -> String {
    var template = Array("/tmp/cimdb-\(label)-XXXXXX".utf8CString)
    guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw PostgresError(kind: .cluster, message: "mkdtemp failed")
    }
    return String(cString: created)
}

/// A loopback TCP port nobody listens on right now.
func freeLoopbackPort() throws -> Int {
    let listener = try LoopbackListener()
    defer { listener.close() }
    return listener.port
}

/// A socket listening on 127.0.0.1 on a port the kernel chose.
final class LoopbackListener {
    let descriptor: Int32
    let port: Int

    init() throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        do {
            port = try Self.bindAndListen(descriptor)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
    }

    func close() {
        Glibc.close(descriptor)
    }

    private static func bindAndListen(_ descriptor: Int32) throws -> Int {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound, listen(descriptor, 1) == 0 else {
            throw PostgresError(kind: .cluster, message: "cannot listen on a loopback port")
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
