#if canImport(Glibc)
    import SQLCore
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few file operations the embedded cluster needs, on POSIX calls (ownership and modes
/// matter here, which Foundation does not cover well). Errors are ``PostgresError/Kind/cluster``
/// errors naming the path.
enum FileSystem {
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func isExecutable(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }

    static func status(_ path: String) -> stat? {
        var info = stat()
        return stat(path, &info) == 0 ? info : nil
    }

    /// Creates `path` and missing parents with `mode` (an existing directory is left as it is).
    static func createDirectory(_ path: String, mode: mode_t = 0o700) throws(PostgresError) {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, mode) != 0 && errno != EEXIST {
                throw failure("cannot create directory \(partial)")
            }
        }
    }

    /// The file's text, or `nil` when it cannot be read.
    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `text` to `path` (replacing it, or appending), created with `mode`.
    static func write(_ text: String, to path: String, mode: mode_t = 0o600, append: Bool = false) throws(PostgresError) {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC)
        let descriptor = open(path, flags, mode)
        guard descriptor >= 0 else { throw failure("cannot write \(path)") }
        defer { close(descriptor) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("cannot write \(path)")
            }
            bytes = bytes.dropFirst(written)
        }
    }

    static func remove(_ path: String) throws(PostgresError) {
        if unlink(path) != 0 && errno != ENOENT { throw failure("cannot remove \(path)") }
    }

    static func rename(_ path: String, to newPath: String) throws(PostgresError) {
        if Glibc.rename(path, newPath) != 0 { throw failure("cannot rename \(path)") }
    }

    static func changeOwner(_ path: String, to account: ServerAccount) throws(PostgresError) {
        if chown(path, account.uid, account.gid) != 0 { throw failure("cannot give \(path) to \(account.name)") }
    }

    static func changeMode(_ path: String, _ mode: mode_t) throws(PostgresError) {
        if chmod(path, mode) != 0 { throw failure("cannot change the mode of \(path)") }
    }

    /// The name of the account owning `path`.
    static func ownerName(_ path: String) -> String? {
        guard let info = status(path) else { return nil }
        return ServerAccount.lookup(uid: info.st_uid)?.name ?? String(info.st_uid)
    }

    /// `path` made absolute against the working directory, without `.` and `..` components.
    static func absolute(_ path: String) -> String {
        var base = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&buffer, buffer.count) != nil {
                base = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } + "/" + path
            }
        }
        var parts: [Substring] = []
        for part in base.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                _ = parts.popLast()
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    private static func failure(_ what: String) -> PostgresError {
        PostgresError(kind: .cluster, message: "\(what): \(String(cString: strerror(errno)))")
    }
}

extension FileSystem {
    /// The names in a directory, without `.` and `..`; empty when it cannot be read.
    static func directoryEntries(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            // Read the name in place: the record is only as long as the name needs, so copying
            // the whole `dirent` could read past the end of readdir's buffer.
            let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
            let name = String(cString: UnsafeRawPointer(entry).advanced(by: offset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

/// The process environment as a dictionary.
enum ProcessEnvironment {
    static func current() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }
}
