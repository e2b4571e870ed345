import SQLCore

extension EmbeddedCluster {
    /// Whether `initdb` has run.
    var isInitialized: Bool { FileSystem.exists(dataDirectory + "/PG_VERSION") }

    /// `initdb` as `account`: role `cimdb` with a random password (kept in ``passwordFile``),
    /// trust on the unix socket, SCRAM over TCP, UTF-8, locale C.UTF-8 (C where that is missing).
    func initialize(binaries: String, account: ServerAccount) async throws(PostgresError) {
        if FileSystem.exists(dataDirectory), !FileSystem.directoryEntries(dataDirectory).isEmpty {
            throw PostgresError(
                kind: .cluster,
                message: "\(dataDirectory) exists but holds no PostgreSQL cluster (an interrupted initdb?); remove it and start again")
        }
        try writePassword(Self.randomPassword(), account: account)
        var arguments = [
            "-D", dataDirectory, "-U", role, "--auth-local=trust", "--auth-host=scram-sha-256",
            "-E", "UTF8", "--pwfile=" + passwordFile,
        ]
        if settings["fsync"] == "off" { arguments.append("--no-sync") }
        var output = try await account.run(binaries + "/initdb", arguments + ["--locale=C.UTF-8"], in: postgresDirectory)
        if !output.succeeded, output.diagnostics.lowercased().contains("locale") {
            output = try await account.run(binaries + "/initdb", arguments + ["--locale=C"], in: postgresDirectory)
        }
        guard output.succeeded else {
            throw PostgresError(kind: .cluster, message: "initdb failed (as \(account.name)): \(output.diagnostics)")
        }
        try FileSystem.write(
            "\n# cimdb: settings of the embedded cluster, rewritten at every start\ninclude_if_exists = 'cimdb.conf'\n",
            to: dataDirectory + "/postgresql.conf", append: true)
    }

    /// Writes `data/cimdb.conf`: the socket directory, the listen address and port, ``settings``.
    func writeRuntimeConfiguration(port: Int?, account: ServerAccount) throws(PostgresError) {
        var lines = [
            "# Written by cimdb at every start. Change settings with ALTER SYSTEM instead.",
            "unix_socket_directories = \(Self.quoted(socketDirectory))",
            "listen_addresses = \(Self.quoted(port == nil ? "" : "127.0.0.1"))",
        ]
        // Always explicit, so a PGPORT in the caller's environment cannot move the server.
        lines.append("port = \(port ?? 5432)")
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") }) else {
                throw PostgresError(kind: .cluster, message: "invalid server setting name \"\(name)\"")
            }
            lines.append("\(name) = \(Self.quoted(value))")
        }
        let path = dataDirectory + "/cimdb.conf"
        try FileSystem.write(lines.joined(separator: "\n") + "\n", to: path, mode: 0o600)
        if !account.isCurrentUser { try FileSystem.changeOwner(path, to: account) }
    }

    /// Writes ``passwordFile`` (0600, owned by the server account, which `initdb --pwfile` reads).
    func writePassword(_ password: String, account: ServerAccount) throws(PostgresError) {
        try FileSystem.remove(passwordFile)
        try FileSystem.write(password + "\n", to: passwordFile, mode: 0o600)
        if !account.isCurrentUser { try FileSystem.changeOwner(passwordFile, to: account) }
    }

    /// 32 random bytes in hex.
    static func randomPassword() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<64).map { _ in digits[Int(generator.next(upperBound: UInt8(16)))] })
    }

    /// A `postgresql.conf` string literal.
    static func quoted(_ value: String) -> String {
        var out = "'"
        for character in value {
            switch character {
            case "'": out += "''"
            case "\\": out += "\\\\"
            default: out.append(character)
            }
        }
        return out + "'"
    }
}
