#if canImport(FoundationEssentials)
    import SQLCore
    import FoundationEssentials
#else
    import Foundation
#endif

extension Migrator {
    /// The migrations in `directory`: every `NNNN_verb_object.sql` file, in version order.
    /// Other files are ignored; a `.sql` file with another name, a file that is not UTF-8, a
    /// gap or a duplicate version is a ``MigrationError``.
    public static func load(directory: String) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError(kind: .badFile, file: directory, message: "cannot read the migrations directory: \(error)")
        }
        var migrations: [Migration] = []
        for fileName in names.sorted() where fileName.hasSuffix(".sql") {
            let path = directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
            guard let (version, name) = parseFileName(fileName) else {
                throw MigrationError(
                    kind: .badFile, file: path,
                    message: "a migration file must be named NNNN_verb_object.sql (four or more digits, lowercase snake_case)")
            }
            let data: Data
            do {
                data = try Data(contentsOf: URL(filePath: path))
            } catch {
                throw MigrationError(kind: .badFile, file: path, version: version, message: "cannot read the file: \(error)")
            }
            guard let sql = String(validating: data, as: UTF8.self) else {
                throw MigrationError(kind: .badFile, file: path, version: version, message: "the file is not valid UTF-8")
            }
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        return try validate(migrations)
    }
}
