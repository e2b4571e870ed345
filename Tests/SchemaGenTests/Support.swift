import CIM
import Foundation
import Migrations
import MOF
import ORM
import SchemaGen
import Store
import StoreTesting
import Testing
import SQLCore

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// cimdb's own migrations as the binary embeds them.
let productMigrations: [Migration] = EmbeddedMigrations.all

/// A fresh database in the test cluster with cimdb's schema: migration 0001 only
/// (`defaultModel: false`) or all migrations, the default model included.
func freshDatabase(defaultModel: Bool = true) async throws -> ConnectionPool {
    let migrations = defaultModel ? productMigrations : productMigrations.filter { $0.version == 1 }
    let conninfo = try await TestPostgres.createDatabase(fromTemplate: defaultModel ? "cimdb_migrated" : "cimdb_migration_0001") { connection in
        try connection.execute("SET client_min_messages = warning")
        _ = try Migrator().apply(migrations, on: connection)
    }
    return ConnectionPool(conninfo: conninfo, size: 2)
}

/// Compiles MOF text (with the DMTF qualifier declarations of mof/qualifiers.mof).
func compileModel(_ source: String) throws -> Model {
    let qualifiers = try String(contentsOf: repositoryRoot.appendingPathComponent("mof/qualifiers.mof"), encoding: .utf8)
    let files = ["qualifiers.mof": qualifiers, "model.mof": source]
    let compilation = Compiler(readFile: { files[$0].map { Array($0.utf8) } }).compile(files: ["qualifiers.mof", "model.mof"])
    if compilation.hasErrors { throw SchemaError(compilation.errors.map(\.description).joined(separator: "\n")) }
    return compilation.model
}

/// The default model, compiled from mof/.
let defaultModel: Model = Compiler().compile(files: [repositoryRoot.appendingPathComponent("mof/cimdb.mof").path]).model

/// Installs a compiled model into a database that has migration 0001.
func install(_ model: Model, on connection: Connection) throws {
    try connection.executeScript(.verbatim(try DDLGenerator(model: model, source: "test").createStatements()))
}

enum MOFCompile {
    static func compile(_ path: String) -> Compilation { Compiler().compile(files: [path]) }
}
