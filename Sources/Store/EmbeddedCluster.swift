import SQLCore

/// cimdb's own PostgreSQL: a cluster under a home directory, created with `initdb` on first
/// use and run with `pg_ctl`, reachable on a private unix socket (and optionally on a loopback
/// TCP port).
///
/// Layout under ``home``: `postgres/data` (the data directory), `postgres/.s.PGSQL.*` (the
/// socket), `postgres/postgres.log` (the server log), `postgres/password` (the `cimdb` role's
/// password for TCP, mode 0600). The superuser role and the database are both `cimdb`.
///
/// When cimdb runs as root, PostgreSQL (which refuses root) runs as the `postgres` account, or
/// as a system account `cimdb-postgres` created for it; ``ClusterStatus/note`` says so.
public struct EmbeddedCluster: Sendable {
    /// The home directory (`CIMDB_HOME`), absolute.
    public let home: String
    /// Where the server programs are; `nil` finds them with ``PostgresBinaries/locate()``.
    public var binDirectory: String?
    /// Extra server settings (`postgresql.conf` names and values), written at every start,
    /// e.g. `["fsync": "off"]` for throwaway test clusters.
    public var settings: [String: String]

    /// A cluster under `home` (made absolute); nothing happens on disk until ``start(port:)``.
    /// `settings` are added to ``defaultSettings`` (and win over them).
    public init(home: String, binDirectory: String? = nil, settings: [String: String] = [:]) {
        self.home = FileSystem.absolute(home)
        self.binDirectory = binDirectory
        self.settings = Self.defaultSettings.merging(settings) { $1 }
    }

    /// What an inventory database needs beyond PostgreSQL's defaults, which are sized for a
    /// small shared host: room for bulk ingest (larger buffers, fewer forced checkpoints) and
    /// asynchronous commit by default — a crash of PostgreSQL or the machine can lose the last
    /// few hundred milliseconds of commits of what is not acknowledged to anyone (report
    /// aggregates, request nonces, `last_seen_at`), but never corrupts data; fsync stays on.
    /// What is acknowledged — ingest, whose 200 lets the agent delete its results — commits
    /// synchronously in any case (`transaction(durable:)`), so a crash loses nothing
    /// acknowledged. Change any of them with ALTER SYSTEM.
    public static let defaultSettings: [String: String] = [
        "shared_buffers": "256MB",
        "max_wal_size": "2GB",
        "checkpoint_timeout": "15min",
        "synchronous_commit": "off",
        "max_connections": "200",
    ]

    /// The database cimdb uses: `cimdb`.
    public var database: String { "cimdb" }
    /// The superuser role: `cimdb`.
    public var role: String { "cimdb" }

    /// `home/postgres`: everything PostgreSQL owns, and the unix socket.
    public var postgresDirectory: String { home + "/postgres" }
    /// `home/postgres/data`.
    public var dataDirectory: String { postgresDirectory + "/data" }
    /// `home/postgres`, where the unix socket is.
    public var socketDirectory: String { postgresDirectory }
    /// `home/postgres/postgres.log`, the server log.
    public var logFile: String { postgresDirectory + "/postgres.log" }
    /// `home/postgres/password`, the `cimdb` role's password for TCP connections.
    public var passwordFile: String { postgresDirectory + "/password" }

    /// A libpq URI for the database `cimdb`, usable by psql:
    /// `postgresql://cimdb@/cimdb?host=/root/.local/share/cimdb/postgres` over the unix socket,
    /// or `postgresql://cimdb:PASSWORD@127.0.0.1:PORT/cimdb` with `tcp` (meaningful when the
    /// cluster was started with a port).
    public func connectionString(tcp: Bool = false) -> String {
        connectionString(database: database, tcp: tcp)
    }

    /// A libpq URI for `database` in this cluster (see ``connectionString(tcp:)``).
    public func connectionString(database: String, tcp: Bool = false) -> String {
        let lock = PostmasterPID.read(dataDirectory: dataDirectory)
        let port = lock?.port ?? 5432
        if tcp {
            let password = FileSystem.read(passwordFile).map { String($0.prefix { $0 != "\n" }) } ?? ""
            let credentials = password.isEmpty ? role : role + ":" + URIEncoding.encode(password)
            return "postgresql://\(credentials)@127.0.0.1:\(lock?.tcpPort ?? port)/\(URIEncoding.encode(database))"
        }
        var uri = "postgresql://\(role)@/\(URIEncoding.encode(database))?host=\(URIEncoding.encode(socketDirectory, keeping: "/"))"
        // The default port is left out, unless PGPORT would make libpq pick another one.
        if port != 5432 || ProcessEnvironment.current()["PGPORT"] != nil { uri += "&port=\(port)" }
        return uri
    }
}

/// Percent-encoding for the parts of a libpq URI.
enum URIEncoding {
    static func encode(_ text: String, keeping extra: Set<UInt8> = []) -> String {
        var out = ""
        for byte in text.utf8 {
            let unreserved =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
            if unreserved || extra.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(digits[Int(byte >> 4)])
                out.unicodeScalars.append(digits[Int(byte & 0xF)])
            }
        }
        return out
    }

    static func encode(_ text: String, keeping extra: Character) -> String {
        encode(text, keeping: Set(String(extra).utf8))
    }
}
