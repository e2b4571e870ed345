public import SQLCore

/// Why migrations could not be loaded or applied, with the file (and, for SQL errors, the line
/// and column in it) where it happened.
public struct MigrationError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// A `.sql` file's name is not `NNNN_verb_object.sql`, or the directory cannot be read.
        case badFile
        /// Two migrations share a version.
        case duplicateVersion
        /// Versions do not run 1, 2, 3, … without a hole.
        case gap
        /// An applied migration's SQL changed since it was applied.
        case checksumMismatch
        /// The database has a migration applied that this list does not know (a newer program migrated it).
        case unknownApplied
        /// A migration's SQL failed; ``MigrationError/underlying`` has the server's error.
        case failed
    }

    /// What went wrong.
    public var kind: Kind
    /// The migration file concerned, e.g. `0003_add_index.sql`.
    public var file: String?
    /// The migration version concerned.
    public var version: Int?
    /// Line and column in the file (1-based) where a failing statement's error points.
    public var line: Int?
    /// Column of ``line``, 1-based.
    public var column: Int?
    /// What happened, in a sentence.
    public var message: String
    /// The database error behind a ``Kind/failed`` migration.
    public var underlying: PostgresError?

    /// Makes an error from its parts.
    public init(
        kind: Kind, file: String? = nil, version: Int? = nil, line: Int? = nil, column: Int? = nil,
        message: String, underlying: PostgresError? = nil
    ) {
        self.kind = kind
        self.file = file
        self.version = version
        self.line = line
        self.column = column
        self.message = message
        self.underlying = underlying
    }

    /// `0003_add_index.sql:4:12: error: …`, or `migrations: error: …` when no file is concerned.
    public var description: String {
        var place = file ?? "migrations"
        if let line {
            place += ":\(line)"
            if let column { place += ":\(column)" }
        }
        var text = "\(place): error: \(message)"
        // Migrations are the operator's own files: the server's full message helps them fix one.
        if let underlying { text += ": \(underlying.debugDescription)" }
        return text
    }
}
