import CIM
import Foundation
import ModelStore
import MOF
import ORM
import SchemaGen
import SQLCore
import Store
import StoreTesting
import TestSupport
import Testing

/// A changed model migrates a populated database without losing a row; destructive changes
/// are refused unless allowed.
@Suite struct EvolutionTests {
    static let v1 = """
        class Acme_Rack { [Key] string Name; uint16 Units; };
        class Acme_Server : Acme_Rack { string Model; };
        [Association] class Acme_InRack { [Key] Acme_Rack REF Rack; [Key] Acme_Rack REF Item; };
        """
    /// v1 plus a property on an existing class, a new class, and a new subclass.
    static let v2 = """
        [Description ("A rack.")] class Acme_Rack { [Key] string Name; uint16 Units; string Room; };
        class Acme_Server : Acme_Rack { string Model; datetime Installed; };
        class Acme_Blade : Acme_Server { uint8 Slot; };
        class Acme_Switch { [Key] string Name; uint32 Ports; };
        [Association] class Acme_InRack { [Key] Acme_Rack REF Rack; [Key] Acme_Rack REF Item; };
        """

    func populated() async throws -> ConnectionPool {
        let pool = try await freshDatabase(defaultModel: false)
        try await pool.withConnection { connection in
            try install(try compileModel(Self.v1), on: connection)
            let store = InstanceStore(catalog: try ModelCatalog.load(from: connection))
            for i in 0..<20 {
                try store.add(className: "Acme_Server", assignments: [("Name", "s\(i)"), ("Units", "\(i)"), ("Model", "m\(i)")], on: connection)
            }
            try store.add(className: "Acme_Rack", assignments: [("Name", "r1"), ("Units", "42")], on: connection)
            try store.add(
                className: "Acme_InRack", assignments: [("Rack", #"Acme_Rack.Name="r1""#), ("Item", #"Acme_Server.Name="s3""#)], on: connection)
        }
        return pool
    }

    func plan(_ target: String, on connection: Connection) throws -> EvolutionPlan {
        try Evolution(installed: try ModelCatalog.load(from: connection), target: try compileModel(target), source: "test").plan()
    }

    @Test func additiveChangesKeepEveryRow() async throws {
        let pool = try await populated()
        defer { Task { await pool.close() } }
        try await pool.withConnection { connection in
            let plan = try plan(Self.v2, on: connection)
            #expect(!plan.isDestructive)
            let summaries = plan.changes.map(\.summary)
            #expect(summaries.contains("add property Acme_Rack.Room (string)"))
            #expect(summaries.contains("add property Acme_Server.Installed (datetime)"))
            #expect(summaries.contains("add class Acme_Blade (table acme_blade)"))
            #expect(summaries.contains("add class Acme_Switch (table acme_switch)"))
            try connection.transaction { try $0.executeScript(.verbatim(plan.script)) }

            #expect(try connection.execute("SELECT count(*) AS n FROM Acme_Server").first?.int("n") == 20)
            #expect(try connection.execute("SELECT count(*) AS n FROM Acme_Rack").first?.int("n") == 21)
            #expect(try connection.execute("SELECT count(*) AS n FROM Acme_InRack").first?.int("n") == 1)
            #expect(try connection.execute("SELECT sum(units) AS s, count(room) AS r FROM Acme_Rack").first?["s"] == "232")
            // New columns are there (inherited by subclasses), new classes work, catalog follows.
            let store = InstanceStore(catalog: try ModelCatalog.load(from: connection))
            try store.add(
                className: "Acme_Blade", assignments: [("Name", "b1"), ("Room", "A"), ("Slot", "3"), ("Installed", "20240101000000.000000+000")],
                on: connection)
            #expect(try connection.execute("SELECT room, slot FROM Acme_Blade").first?["slot"] == "3")
            #expect(try connection.execute("SELECT count(*) AS n FROM Acme_Rack WHERE room = 'A'").first?.int("n") == 1)
            #expect(try ModelCatalog.load(from: connection).class(named: "Acme_Rack")?.description == "A rack.")
            // Migrating again is a no-op.
            #expect(try self.plan(Self.v2, on: connection).isEmpty)
        }
    }

    @Test func destructiveChangesAreFlagged() async throws {
        let pool = try await populated()
        defer { Task { await pool.close() } }
        try await pool.withConnection { connection in
            let dropped = try plan(
                """
                class Acme_Rack { [Key] string Name; };
                class Acme_Server : Acme_Rack { string Model; };
                """, on: connection)
            #expect(dropped.isDestructive)
            #expect(dropped.destructiveChanges.map(\.summary).contains("drop property Acme_Rack.Units and its values"))
            #expect(dropped.destructiveChanges.map(\.summary).contains("drop class Acme_InRack and its instances (table acme_inrack)"))

            let retyped = try plan(Self.v1.replacingOccurrences(of: "uint16 Units", with: "string Units"), on: connection)
            #expect(retyped.destructiveChanges.map(\.summary) == ["change the type of Acme_Rack.Units from uint16 to string; its values are dropped"])

            // Allowed, the plan applies and the rest of the data stays.
            try connection.transaction { try $0.executeScript(.verbatim(dropped.script)) }
            #expect(try connection.execute("SELECT count(*) AS n FROM Acme_Rack").first?.int("n") == 21)
            #expect(try connection.execute("SELECT count(*) AS n FROM cimdb.instance").first?.int("n") == 21)
            #expect(
                try connection.execute(
                    "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'acme_rack' AND column_name = 'units'"
                ).first?.int("n") == 0)
        }
    }
}

/// The whole DMTF CIM Schema 2.51.0 as tables (1894 classes).
@Suite struct FullSchemaTests {
    @Test func fullSchemaDDLApplies() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cimdb-fullschema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tar = try await runProgram(
            "/usr/bin/tar", ["xJf", repositoryRoot.appendingPathComponent("Tests/Fixtures/cim_schema_2.51.0.tar.xz").path, "-C", directory.path])
        try #require(tar.status == 0, "\(tar.output)")
        // Compiling and generating take a core for a while: off the cooperative pool.
        let top = directory.appendingPathComponent("2.51.0/cim_schema_2.51.0.mof").path
        let compilation = try await offThePool { MOFCompile.compile(top) }
        #expect(!compilation.hasErrors)
        let clock = ContinuousClock()
        let generationStart = clock.now
        let ddl = try await offThePool { try DDLGenerator(model: compilation.model, source: "cim_schema_2.51.0.mof").createStatements() }
        let generation = clock.now - generationStart
        let pool = try await freshDatabase(defaultModel: false)
        defer { Task { await pool.close() } }
        let applyStart = clock.now
        let tables = try await pool.withConnection { connection in
            try connection.execute("SET client_min_messages = warning")
            try connection.transaction { try $0.executeScript(.verbatim(ddl)) }
            return try connection.execute("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'cim'").first?.int("n")
        }
        let apply = clock.now - applyStart
        print("full DMTF schema: DDL of \(ddl.utf8.count / 1_000_000) MB generated in \(generation), applied in \(apply)")
        #expect(tables == 1894)
    }
}
