#if canImport(Glibc)
    import SQLCore
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension EmbeddedCluster {
    /// The file listing ancestors of ``postgresDirectory`` that were made traversable (o+x) for
    /// the server account, one a line, for ``ClusterStatus/note``.
    var openedAncestorsFile: String { postgresDirectory + "/opened-ancestors" }

    /// Creates ``postgresDirectory`` (0700) and hands it to `account`; when the account is not
    /// the current user, makes every ancestor it cannot traverse traversable (o+x) — exactly
    /// those, no more — and records them.
    func prepareDirectories(for account: ServerAccount) throws(PostgresError) {
        try FileSystem.createDirectory(postgresDirectory, mode: 0o700)
        guard !account.isCurrentUser else { return }
        try FileSystem.changeOwner(postgresDirectory, to: account)
        for file in [logFile, passwordFile] where FileSystem.exists(file) {
            try FileSystem.changeOwner(file, to: account)
        }
        var opened: [String] = []
        for ancestor in Self.ancestors(of: postgresDirectory) {
            guard let info = FileSystem.status(ancestor), !Self.canTraverse(info, account: account) else { continue }
            try FileSystem.changeMode(ancestor, (info.st_mode & 0o7777) | S_IXOTH)
            opened.append(ancestor)
        }
        if !opened.isEmpty {
            let known = Set(openedAncestors())
            let new = opened.filter { !known.contains($0) }
            if !new.isEmpty {
                try FileSystem.write(new.map { $0 + "\n" }.joined(), to: openedAncestorsFile, mode: 0o644, append: true)
            }
        }
    }

    /// The ancestors recorded by ``prepareDirectories(for:)``.
    func openedAncestors() -> [String] {
        (FileSystem.read(openedAncestorsFile) ?? "").split(separator: "\n").map(String.init)
    }

    /// `/`, `/a`, `/a/b` for `/a/b/c`.
    static func ancestors(of path: String) -> [String] {
        let components = path.split(separator: "/")
        var result = ["/"]
        var partial = ""
        for component in components.dropLast() {
            partial += "/" + component
            result.append(partial)
        }
        return result
    }

    /// Whether `account` may enter a directory with this status (owner, group or other execute bit).
    static func canTraverse(_ info: stat, account: ServerAccount) -> Bool {
        if account.uid == 0 { return true }
        if info.st_uid == account.uid { return info.st_mode & S_IXUSR != 0 }
        if info.st_gid == account.gid { return info.st_mode & S_IXGRP != 0 }
        return info.st_mode & S_IXOTH != 0
    }
}
