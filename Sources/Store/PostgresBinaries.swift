public import SQLCore

/// Finds the PostgreSQL server programs (`initdb`, `pg_ctl`, `postgres`).
///
/// Order: the directory in `CIMDB_PG_BINDIR` when set (and only it); else `pg_config --bindir`
/// when it names a directory holding the programs; else the newest `/usr/lib/postgresql/*/bin`
/// (Debian and Ubuntu); else the first `PATH` directory holding them. None found is an error
/// whose message says how to install them.
public enum PostgresBinaries {
    /// The programs a directory must hold to qualify.
    public static let requiredPrograms = ["initdb", "pg_ctl", "postgres"]

    /// The directory holding the server programs, from the process environment.
    public static func locate() throws(PostgresError) -> String {
        try locate(environment: ProcessEnvironment.current())
    }

    /// The directory holding the server programs, from `environment` (`CIMDB_PG_BINDIR`, `PATH`).
    public static func locate(environment: [String: String]) throws(PostgresError) -> String {
        if let override = environment["CIMDB_PG_BINDIR"], !override.isEmpty {
            return try validate(override, source: "CIMDB_PG_BINDIR")
        }
        var looked: [String] = []
        let pgConfig = programPath("pg_config", environment: environment)
        if let pgConfig, let bindir = PgConfig.bindir(pgConfig) {
            if holdsServer(bindir) { return bindir }
            looked.append("\(bindir) (from pg_config --bindir)")
        }
        let debian = debianDirectories()
        if let newest = debian.first(where: holdsServer) { return newest }
        looked += debian.isEmpty ? ["/usr/lib/postgresql/*/bin"] : debian
        let path = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        if let found = path.first(where: holdsServer) { return found }
        looked.append("PATH")
        throw notFound(looked: looked)
    }

    /// `directory` if it holds the server programs, else the not-found error.
    public static func validate(_ directory: String, source: String? = nil) throws(PostgresError) -> String {
        guard holdsServer(directory) else {
            throw notFound(looked: [source.map { "\(directory) (\($0))" } ?? directory])
        }
        return directory
    }

    /// Whether `directory` holds every program in ``requiredPrograms``.
    static func holdsServer(_ directory: String) -> Bool {
        requiredPrograms.allSatisfy { FileSystem.isExecutable(directory + "/" + $0) }
    }

    /// `/usr/lib/postgresql/N/bin` directories, newest major version first.
    static func debianDirectories(root: String = "/usr/lib/postgresql") -> [String] {
        let versions = FileSystem.directoryEntries(root).compactMap { name in Double(name).map { (name, $0) } }
        return versions.sorted { $0.1 > $1.1 }.map { "\(root)/\($0.0)/bin" }
    }

    private static func programPath(_ name: String, environment: [String: String]) -> String? {
        (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/\(name)" }
            .first(where: FileSystem.isExecutable)
    }

    private static func notFound(looked: [String]) -> PostgresError {
        PostgresError(
            kind: .cluster,
            message: "PostgreSQL server programs (\(requiredPrograms.joined(separator: ", "))) not found; looked in "
                + looked.joined(separator: ", "),
            hint: "install them with `apt-get install postgresql` (Debian, Ubuntu), or set CIMDB_PG_BINDIR "
                + "to the directory holding initdb and pg_ctl")
    }
}
