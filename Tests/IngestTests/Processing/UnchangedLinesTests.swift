import CIM
import Foundation
import Ingest
import Inventory
import ORM
import SQLCore
import Store
import Testing

/// Update outputs are read only where their lines are new (SPEC §5: an unchanged value writes
/// nothing) — and in full again whenever a skipped line could be stale.
@Suite struct UnchangedLinesTests {
    let disks = ["/", "/data", "/scratch"]

    func sizes(_ values: [String]) -> String {
        zip(disks, values).map { line("CIM_FileSystem", "CIM_ComputerSystem", "n1", $0, $1) }.joined()
    }

    func discoverDisks(_ c: Connection, _ names: [String]) throws {
        let outcome = try c.discover(
            discovery("n1", [("ComputerSystem", Lines.system("n1"), nil), ("FileSystem", names.map { Lines.fileSystem("n1", $0) }.joined(), nil)]))
        #expect(outcome.errors.isEmpty, "\(outcome)")
    }

    func stored(_ c: Connection) throws -> [String?] {
        try c.execute("SELECT filesystemsize FROM cim_filesystem ORDER BY name").map { $0.string(0) }
    }

    @Test func onlyNewLinesAreRead() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try discoverDisks(c, disks)
            let first = try c.apply(update("n1", "FileSystem", "FileSystemSize", sizes(["1", "2", "3"])))
            #expect(first.summary?.changed == 3 && first.summary?.unchangedLines == 0)
            let second = try c.apply(update("n1", "FileSystem", "FileSystemSize", sizes(["1", "20", "3"])))
            #expect(second.summary?.values == 3)
            #expect(second.summary?.unchangedLines == 2)
            #expect(second.summary?.changed == 1 && second.summary?.events == 1)
            #expect(try stored(c) == ["1", "20", "3"])
            let event = try c.execute("SELECT old_value, new_value FROM cimdb.event WHERE kind = 'changed'")
            #expect(event.map { [$0.string(0), $0.string(1)] } == [["2", "20"]])
        }
    }

    @Test func anErrorOnANewLineNamesItsLineInTheWholeOutput() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try discoverDisks(c, disks)
            try c.apply(update("n1", "FileSystem", "FileSystemSize", sizes(["1", "2", "3"])))
            let bad = try c.apply(update("n1", "FileSystem", "FileSystemSize", "\n" + sizes(["1", "2", "x"])))
            #expect(
                bad.errors == [
                    "node n1, settings FileSystem, property FileSystemSize, update output line 4, column 47: value of the wrong type for CIM_FileSystem.FileSystemSize: \"x\" is not an integer (uint64)"
                ])
            #expect(try stored(c) == ["1", "2", "3"])
        }
    }

    /// A file system that went and came back is a new instance without values: the next update
    /// output gives it its value although its line is the same as before.
    @Test func aDiscoveryChangeMakesTheNextOutputCountInFull() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try discoverDisks(c, disks)
            try c.apply(update("n1", "FileSystem", "FileSystemSize", sizes(["1", "2", "3"])))
            try discoverDisks(c, ["/", "/scratch"])
            try discoverDisks(c, disks)
            #expect(try stored(c) == ["1", nil, "3"])
            let again = try c.apply(update("n1", "FileSystem", "FileSystemSize", sizes(["1", "2", "3"]) + "\n"))
            #expect(again.summary?.unchangedLines == 0)
            #expect(try stored(c) == ["1", "2", "3"])
        }
    }

    /// A value that went away (NULL) and comes back is a change like any other; only the very
    /// first value an update writes is not.
    @Test func aValueThatComesBackIsAChange() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try discoverDisks(c, disks)
            try c.apply(update("n1", "FileSystem", "FileSystemSize", sizes(["1", "2", "3"])))
            let gone = try c.apply(update("n1", "FileSystem", "FileSystemSize", sizes(["1", GS, "3"])))
            #expect(gone.summary?.events == 1)
            let back = try c.apply(update("n1", "FileSystem", "FileSystemSize", sizes(["1", "5", "3"])))
            #expect(back.summary?.changed == 1 && back.summary?.events == 1, "\(back)")
            let events = try c.execute("SELECT old_value, new_value, severity, instance_path FROM cimdb.event WHERE kind = 'changed' ORDER BY id")
            #expect(events.map { [$0.string(0), $0.string(1)] } == [["2", nil], [nil, "5"]])
            #expect(events.allSatisfy { $0.string(2) == "info" && $0.string(3) == Lines.fileSystemPath("n1", "/data") })
            // The first value of another property is still not a change.
            let first = try c.apply(update("n1", "FileSystem", "AvailableSpace", sizes(["1", "1", "1"])))
            #expect(first.errors.isEmpty ? first.summary?.events == 0 : true)
        }
    }
}
