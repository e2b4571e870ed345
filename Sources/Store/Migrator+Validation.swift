import SQLCore

extension Migrator {
    /// The migrations sorted by version, after checking that versions run 1, 2, 3, … with no
    /// gap or duplicate and that names are snake_case (`verb_object`).
    public static func validate(_ migrations: [Migration]) throws(MigrationError) -> [Migration] {
        let ordered = migrations.sorted { $0.version < $1.version }
        for migration in ordered where !isValidName(migration.name) {
            throw MigrationError(
                kind: .badFile, file: migration.fileName, version: migration.version,
                message: "migration name \"\(migration.name)\" is not snake_case verb_object (e.g. 0002_add_node_index.sql)")
        }
        var expected = 1
        var previous: Migration?
        for migration in ordered {
            if let previous, previous.version == migration.version {
                throw MigrationError(
                    kind: .duplicateVersion, file: migration.fileName, version: migration.version,
                    message: "version \(migration.version) is used twice: \(previous.fileName) and \(migration.fileName)")
            }
            if migration.version != expected {
                let after = previous.map { "after \($0.fileName)" } ?? "at the start"
                throw MigrationError(
                    kind: .gap, file: migration.fileName, version: migration.version,
                    message: "versions must run 1, 2, 3, … without a gap: expected version \(expected) \(after), found \(migration.fileName)")
            }
            expected += 1
            previous = migration
        }
        return ordered
    }

    /// Parses `NNNN_verb_object.sql` into version and name; `nil` when the name does not fit.
    public static func parseFileName(_ fileName: String) -> (version: Int, name: String)? {
        guard fileName.hasSuffix(".sql") else { return nil }
        let stem = fileName.dropLast(4)
        let digits = stem.prefix { $0.isASCII && $0.isNumber }
        guard digits.count >= 4, stem.dropFirst(digits.count).first == "_", let version = Int(digits) else { return nil }
        let name = String(stem.dropFirst(digits.count + 1))
        return isValidName(name) ? (version, name) : nil
    }

    /// Lowercase words of letters and digits joined by single underscores, at least two words.
    static func isValidName(_ name: String) -> Bool {
        let words = name.split(separator: "_", omittingEmptySubsequences: false)
        return words.count >= 2
            && words.allSatisfy { word in
                !word.isEmpty && word.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber) }
            }
    }

    /// Checks the applied migrations against the list: every applied version must be known, and
    /// its SQL's checksum (computed by the server) must match the one recorded.
    func verify(_ applied: [Record], against migrations: [Migration], on connection: Connection) throws {
        let byVersion = Dictionary(migrations.map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })
        var checked: [(record: Record, migration: Migration)] = []
        for record in applied {
            guard let migration = byVersion[record.version] else {
                let file = Migration(version: record.version, name: record.name, sql: "").fileName
                throw MigrationError(
                    kind: .unknownApplied, file: file, version: record.version,
                    message: "the database has migration \(file) applied, which this program does not have; use a newer cimdb")
            }
            checked.append((record, migration))
        }
        guard !checked.isEmpty else { return }
        let sums = try connection.execute(
            "SELECT \(Self.checksum(of: "sql")) AS checksum FROM unnest(\(checked.map(\.migration.sql))) WITH ORDINALITY AS t(sql, n) ORDER BY n")
        for (index, pair) in checked.enumerated() {
            let current = sums[index].string("checksum") ?? ""
            guard current == pair.record.checksum else {
                throw MigrationError(
                    kind: .checksumMismatch, file: pair.migration.fileName, version: pair.migration.version,
                    message: "migration \(pair.migration.fileName) was changed after it was applied "
                        + "(applied checksum \(pair.record.checksum), file checksum \(current)); "
                        + "nothing was applied: restore the file and add a new migration instead")
            }
        }
    }
}
