import CommandSupport
import ArgumentParser
import Foundation
import Migrations
import MOF
import ORM
import SchemaGen
import Store
import Synchronization
import CIM
import Installation
import ModelStore
import SQLCore

/// `cimdb migrate`: install or upgrade cimdb's schema and the CIM model.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Install or upgrade cimdb's schema and the CIM model in the database.",
        discussion: """
            Applies cimdb's own migrations (built into this binary; the default model, \
            mof/cimdb.mof, is one of them) in order, each in a transaction, recording each with \
            a checksum. Idempotent; refuses to run when a migration that was applied has changed.

            With --model, then compiles the given MOF (for example the default model plus your \
            extension for custom hardware) and migrates the installed model to it: new classes \
            become tables, new properties columns; existing rows are kept. Changes that would \
            lose data (a class or property removed, a type changed) are refused unless \
            --allow-destructive is given.

            Examples:
              cimdb migrate
              cimdb migrate --model mof/cimdb.mof acme_cards.mof --dry-run
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(name: .customLong("model"), parsing: .upToNextOption,
            help: ArgumentHelp("MOF files of the model to migrate to (after cimdb's own migrations).", valueName: "file"))
    var modelFiles: [String] = []

    @Option(name: [.customShort("I"), .customLong("include-path")], help: ArgumentHelp("Search this directory for #pragma include files.", valueName: "dir"))
    var includePaths: [String] = []

    @Flag(help: "Allow model changes that drop classes, properties or their values.")
    var allowDestructive = false

    @Flag(help: "Show the model changes and their SQL; change nothing.")
    var dryRun = false

    func run() async throws {
        try await reportingErrors {
            let connection = try await database.connect()
            defer { connection.close() }
            try connection.execute("SET client_min_messages = warning")
            if dryRun {
                print("cimdb migrations: not applied (--dry-run)")
            } else {
                let migrations = EmbeddedMigrations.all
                let applied = try Migrator().apply(migrations, on: connection)
                if applied.isEmpty {
                    print("cimdb migrations: up to date (\(migrations.count) applied)")
                } else {
                    for m in applied { print("applied \(m.fileName)") }
                }
            }
            if !modelFiles.isEmpty { try migrateModel(on: connection) }
            if !dryRun {
                try ModelSourceStore.storeDefaultIfMissing(on: connection)
                try Reports.install(on: connection)
                print("report views: installed (schema report; sql/reports.sql)")
            }
        }
    }

    func migrateModel(on connection: Connection) throws {
        // Every file the compiler reads is recorded: the model's source is stored with it.
        let read = Mutex<[String: String]>([:])
        let compiler = Compiler(includePaths: includePaths) { path in
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            read.withLock { $0[path] = String(decoding: data, as: UTF8.self) }
            return [UInt8](data)
        }
        let compilation = compiler.compile(files: modelFiles)
        for d in compilation.diagnostics { Output.error(d.description) }
        if compilation.hasErrors { throw CommandFailure("the model has \(compilation.errors.count) error(s); nothing changed") }
        let installed = try ModelCatalog.load(from: connection)
        let plan = try Evolution(installed: installed, target: compilation.model, source: modelFiles.joined(separator: " ")).plan()
        if plan.isEmpty {
            if !dryRun { try ModelSourceStore.store(files: read.withLock { $0 }, roots: modelFiles, on: connection) }
            print("model: up to date (\(compilation.model.classes.count) classes)")
            return
        }
        for change in plan.changes { print(change.description) }
        if plan.isDestructive, !allowDestructive {
            throw CommandFailure("\(plan.destructiveChanges.count) change(s) would lose data (marked !); nothing changed. Re-run with --allow-destructive to apply them.")
        }
        if dryRun {
            print("-- SQL (not applied, --dry-run):")
            print(plan.script)
            return
        }
        try connection.transaction { connection in
            try connection.executeScript(plan.script)
            try connection.execute("INSERT INTO cimdb.model_change (summary, statements) VALUES ($1, $2)",
                                   [SQLValue(plan.summary), SQLValue(plan.script)])
            try ModelSourceStore.store(files: read.withLock { $0 }, roots: modelFiles, on: connection)
        }
        print("model: \(plan.summary) applied")
    }
}
