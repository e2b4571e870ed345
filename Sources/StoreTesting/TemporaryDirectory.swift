#if canImport(FoundationEssentials)
    import SQLCore
    import Store
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The test cluster's home: `/tmp/cimdb-test-XXXXXX` (short, so the unix socket path fits in
/// its 107 bytes), with an `owner.pid` naming the test process that owns it.
enum TemporaryDirectory {
    static let prefix = "cimdb-test-"
    static let parent = "/tmp"

    /// Creates a fresh home and records this process as its owner.
    static func create() throws -> String {
        var template = Array("\(parent)/\(prefix)XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestPostgresError(message: "cannot create a temporary directory in \(parent): \(String(cString: strerror(errno)))")
        }
        let home = String(cString: created)
        try Data("\(getpid())\n".utf8).write(to: URL(filePath: home + "/owner.pid"))
        return home
    }

    /// Stops and removes the clusters of earlier test processes that died without cleaning up
    /// (killed, crashed): those whose `owner.pid` process is gone.
    static func removeLeftovers() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        for name in names where name.hasPrefix(prefix) {
            let home = parent + "/" + name
            guard let text = readFile(home + "/owner.pid"), let owner = Int32(text.split(separator: "\n").first ?? ""),
                kill(owner, 0) != 0, errno == ESRCH
            else { continue }
            ShutdownHook.stopPostmaster(dataDirectory: home + "/postgres/data")
            removeTree(home)
        }
    }

    static func randomSuffix(length: Int) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in letters[Int(generator.next(upperBound: UInt32(letters.count)))] })
    }

    static func readFile(_ path: String) -> String? {
        guard let data = try? Data(contentsOf: URL(filePath: path)) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Removes a directory tree.
    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
