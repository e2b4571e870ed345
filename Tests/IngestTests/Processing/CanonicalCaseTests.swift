import CIM
import Foundation
import Ingest
import Inventory
import ORM
import SQLCore
import Store
import Testing

/// The three canonical cases of SPEC §5 against a real PostgreSQL, plus idempotency.
@Suite struct CanonicalCaseTests {
    /// Node n1 with two file systems and their CIM_HostedFileSystem associations.
    func twoDisks(_ connection: Connection) throws {
        let outcome = try connection.discover(
            discovery(
                "n1",
                [
                    ("ComputerSystem", Lines.system("n1"), nil),
                    (
                        "FileSystem", Lines.fileSystem("n1", "/") + Lines.fileSystem("n1", "/data"),
                        Lines.hosted("n1", "/") + Lines.hosted("n1", "/data")
                    ),
                ]))
        #expect(outcome.summary?.created == 5, "\(outcome)")
    }

    @Test func aDiskDisappears() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try twoDisks(c)
            #expect(try c.count("SELECT * FROM cimdb.update_deployment WHERE node = 'n1' AND settings = 'FileSystem'") == 2)
            let events = try c.count("SELECT * FROM cimdb.event")
            let outcome = try c.discover(
                discovery(
                    "n1",
                    [
                        ("ComputerSystem", Lines.system("n1"), nil),
                        ("FileSystem", Lines.fileSystem("n1", "/"), Lines.hosted("n1", "/")),
                    ]))
            #expect(outcome.summary?.deleted == 2)
            // The instance and its association are gone; the other disk and its association stay.
            #expect(try c.count("SELECT * FROM CIM_FileSystem") == 1)
            #expect(try c.count("SELECT * FROM CIM_HostedFileSystem") == 1)
            #expect(try c.count("SELECT * FROM cimdb.instance WHERE path LIKE '%/data%'") == 0)
            // The update monitors stay: another file system exists on the node.
            #expect(try c.count("SELECT * FROM cimdb.update_deployment WHERE node = 'n1' AND settings = 'FileSystem'") == 2)
            let deleted = try c.execute("SELECT kind, class_name, severity, node FROM cimdb.event WHERE id > \(events) ORDER BY id")
            #expect(deleted.map { $0["class_name"] } == ["CIM_HostedFileSystem", "CIM_FileSystem"])
            #expect(deleted.allSatisfy { $0["kind"] == "deleted" && $0["severity"] == "warning" && $0["node"] == "n1" })

            // The last disk goes: its update monitors go with it.
            let last = try c.discover(discovery("n1", [("ComputerSystem", Lines.system("n1"), nil), ("FileSystem", "", "")]))
            #expect(last.summary?.removedUpdateMonitors == 2)
            #expect(try c.count("SELECT * FROM cimdb.update_deployment WHERE node = 'n1' AND settings = 'FileSystem'") == 0)
            #expect(try c.count("SELECT * FROM CIM_FileSystem") == 0)
        }
    }

    @Test func aDiskAppears() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try twoDisks(c)
            let outcome = try c.discover(
                discovery(
                    "n1",
                    [
                        ("ComputerSystem", Lines.system("n1"), nil),
                        (
                            "FileSystem", Lines.fileSystem("n1", "/") + Lines.fileSystem("n1", "/data") + Lines.fileSystem("n1", "/scratch"),
                            Lines.hosted("n1", "/") + Lines.hosted("n1", "/data") + Lines.hosted("n1", "/scratch")
                        ),
                    ]))
            #expect(outcome.summary?.created == 2)
            #expect(outcome.summary?.deployedUpdateMonitors == 0)
            #expect(try c.count("SELECT * FROM CIM_FileSystem") == 3)
            // No second update monitor for the class on the node.
            #expect(try c.count("SELECT * FROM cimdb.update_deployment WHERE node = 'n1' AND settings = 'FileSystem'") == 2)
            let created = try c.execute("SELECT class_name, instance_path, severity FROM cimdb.event WHERE kind = 'created' ORDER BY id DESC LIMIT 2")
            #expect(Set(created.compactMap { $0["class_name"] }) == ["CIM_FileSystem", "CIM_HostedFileSystem"])
            #expect(created.allSatisfy { $0["severity"] == "info" && $0["instance_path"]!.contains("/scratch") })
        }
    }

    @Test func aPropertyChanges() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try twoDisks(c)
            let size = { (bytes: String) in line("CIM_FileSystem", "CIM_ComputerSystem", "n1", "/", bytes) }
            let first = try c.apply(update("n1", "FileSystem", "FileSystemSize", size("1000")))
            #expect(first.summary?.changed == 1)
            #expect(first.summary?.events == 0)  // the first value an update writes is not a change
            let before = try c.count("SELECT * FROM cimdb.event")
            let second = try c.apply(
                update("n1", "FileSystem", "FileSystemSize", size("2000") + line("CIM_FileSystem", "CIM_ComputerSystem", "n1", "/data", "5")))
            #expect(second.summary?.changed == 2)
            #expect(second.summary?.events == 1)
            #expect(try c.execute("SELECT filesystemsize FROM CIM_FileSystem WHERE name = '/'").first?["filesystemsize"] == "2000")
            let event = try #require(try c.execute("SELECT * FROM cimdb.event WHERE id > \(before)").first)
            #expect(event["kind"] == "changed")
            #expect(event["property"] == "FileSystemSize")
            #expect(event["old_value"] == "1000" && event["new_value"] == "2000")
            #expect(event["severity"] == "info" && event["node"] == "n1")
            #expect(event["instance_path"] == Lines.fileSystemPath("n1", "/"))
            // The value carries its node and time.
            #expect(
                try c.execute(
                    "SELECT node FROM cimdb.property_source ps JOIN cimdb.instance i ON i.id = ps.instance_id WHERE i.path = \(Lines.fileSystemPath("n1", "/"))"
                ).first?["node"] == "n1")
            // An unchanged value writes nothing; an instance without a line keeps its value.
            let third = try c.apply(update("n1", "FileSystem", "FileSystemSize", size("2000")))
            #expect(third.summary?.changed == 0)
            #expect(try c.execute("SELECT filesystemsize FROM CIM_FileSystem WHERE name = '/data'").first?["filesystemsize"] == "5")
            #expect(try c.count("SELECT * FROM cimdb.event") == before + 1)
        }
    }

    @Test func applyingTheSameResultTwiceChangesNothing() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try twoDisks(c)
            let events = try c.count("SELECT * FROM cimdb.event")
            let instances = try c.count("SELECT * FROM cimdb.instance")
            let again = try c.discover(
                discovery(
                    "n1",
                    [
                        ("ComputerSystem", Lines.system("n1"), nil),
                        (
                            "FileSystem", Lines.fileSystem("n1", "/") + Lines.fileSystem("n1", "/data"),
                            Lines.hosted("n1", "/") + Lines.hosted("n1", "/data")
                        ),
                    ]))
            #expect(again.summary?.created == 0 && again.summary?.deleted == 0)
            #expect(try c.count("SELECT * FROM cimdb.event") == events)
            #expect(try c.count("SELECT * FROM cimdb.instance") == instances)
            // Same instances in another order, with an extra blank line: a different digest,
            // still nothing changes.
            let reordered = try c.discover(
                discovery(
                    "n1",
                    [
                        (
                            "FileSystem", Lines.fileSystem("n1", "/data") + "\n" + Lines.fileSystem("n1", "/"),
                            Lines.hosted("n1", "/data") + Lines.hosted("n1", "/")
                        )
                    ]))
            #expect(reordered.summary?.created == 0 && reordered.summary?.deleted == 0)
            #expect(try c.count("SELECT * FROM cimdb.event") == events)
            // The same update twice: one set of changes.
            let size = line("CIM_FileSystem", "CIM_ComputerSystem", "n1", "/", "7")
            try c.apply(update("n1", "FileSystem", "FileSystemSize", size))
            try c.apply(update("n1", "FileSystem", "FileSystemSize", line("CIM_FileSystem", "CIM_ComputerSystem", "n1", "/", "8")))
            let afterUpdate = try c.count("SELECT * FROM cimdb.event")
            try c.apply(update("n1", "FileSystem", "FileSystemSize", line("CIM_FileSystem", "CIM_ComputerSystem", "n1", "/", "8")))
            #expect(try c.count("SELECT * FROM cimdb.event") == afterUpdate)
        }
    }

    @Test func resultsDeliveredTwiceAreAppliedOnce() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let first = discovery("n1", sequence: 5, [("ComputerSystem", Lines.system("n1"), nil)])
            let applied = try c.discover(first)
            #expect(applied.summary?.created == 1)
            let again = try c.discover(first)
            #expect(again == .duplicate(sequence: 5, lastApplied: 5))
            // An older result arriving late does not undo a newer one.
            let late = try c.discover(discovery("n1", sequence: 4, [("ComputerSystem", "", nil)]))
            #expect(late == .duplicate(sequence: 4, lastApplied: 5))
            #expect(try c.count("SELECT * FROM CIM_ComputerSystem") == 1)
            let u = update("n1", "ComputerSystem", "Caption", line("CIM_ComputerSystem", "n1", "first"), sequence: 9)
            let caption = try c.apply(u)
            #expect(caption.summary?.changed == 1)
            let twice = try c.apply(u)
            #expect(twice == .duplicate(sequence: 9, lastApplied: 9))
        }
    }
}
