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
        let owner = "\(getpid())\n"
        let descriptor = open(home + "/owner.pid", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if descriptor >= 0 {
            _ = owner.withCString { write(descriptor, $0, strlen($0)) }
            close(descriptor)
        }
        return home
    }

    /// Stops and removes the clusters of earlier test processes that died without cleaning up
    /// (killed, crashed): those whose `owner.pid` process is gone.
    static func removeLeftovers() {
        guard let directory = opendir(parent) else { return }
        var homes: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name.hasPrefix(prefix) { homes.append(parent + "/" + name) }
        }
        closedir(directory)
        for home in homes {
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
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Removes a directory tree (no symlinks followed).
    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            if let directory = opendir(path) {
                var names: [String] = []
                while let entry = readdir(directory) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(directory)
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
