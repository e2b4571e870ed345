import CIM
import Foundation
import Ingest
import Inventory
import ORM
import SQLCore
import Store
import Testing

/// Malformed results are rejected whole, with node, monitor, settings, line and column, and
/// kept with their raw input.
@Suite struct BadInputTests {
    static let place = "node n1, monitor default, settings FileSystem, discovery output"

    @Test(arguments: [
        (
            line("CIM_FileSystem", "CIM_ComputerSystem", "n1"),
            "\(place) line 1, column 37: expected 4 fields (the key properties in KeyPropertyOrder), found 3"
        ),
        (line("CIM_FileSystem", "CIM_ComputerSystem", "n1", #"/d\q"#), "\(place) line 1, column 40: invalid escape \\q (only \\n and \\\\)"),
        (
            line("CIM_FileSystem", "CIM_ComputerSystem", "n1", "/") + line("CIM_FileSystem", "CIM_ComputerSystem", "n1", "/"),
            "\(place) line 2, column 1: the same instance as line 1 (\(Lines.fileSystemPath("n1", "/")))"
        ),
        (
            line("CIM_FileSystem", "CIM_ComputerSystem", "n1", String(repeating: "x", count: 2000)),
            "\(place) line 1, column 38: value too long for CIM_FileSystem.Name: 2000 characters, MaxLen is 256"
        ),
    ])
    func malformedDiscoveryOutput(_ output: String, _ message: String) async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let before = try c.count("SELECT * FROM cimdb.instance")
            let result = discovery("n1", [("ComputerSystem", Lines.system("n1"), nil), ("FileSystem", output, nil)])
            let outcome = try c.discover(result)
            #expect(outcome.errors.first == message, "\(outcome.errors)")
            // Nothing of it was applied, not even the valid ComputerSystem part.
            #expect(try c.count("SELECT * FROM cimdb.instance") == before)
            #expect(try c.count("SELECT * FROM cimdb.discovery_state") == 0)
            // The raw result is kept with every reason.
            guard case .rejected(let id, let errors) = outcome else { return }
            let kept = try #require(try c.execute("SELECT kind, node, monitor, raw, errors FROM cimdb.rejected_result WHERE id = \(id)").first)
            #expect(kept["kind"] == "discovery" && kept["node"] == "n1" && kept["monitor"] == "default")
            #expect(kept.stringArray("errors")?.compactMap { $0 } == errors.map(\.description))
            #expect(try Envelope.decodeDiscovery(try #require(kept.bytes("raw"))) == result)
        }
    }

    @Test func unknownSettingsMonitorAndClassAreRejected() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let unknownSettings = try c.discover(discovery("n1", [("Disks", "", nil)]))
            #expect(unknownSettings.errors == ["node n1, monitor default: settings Disks is not run by monitor default"])
            var result = discovery("n1", [])
            result.monitor = "nightly"
            #expect(try c.discover(result).errors == ["node n1: unknown discovery monitor nightly"])
            let badAssociation = try c.discover(
                discovery(
                    "n1",
                    [
                        ("ComputerSystem", Lines.system("n1"), nil),
                        (
                            "FileSystem", Lines.fileSystem("n1", "/"),
                            "CIM_Nothing.Key=\"x\"\nCIM_FileSystem.Name=\"/\"\nCIM_HostedFileSystem.GroupComponent=\"\n"
                        ),
                    ]))
            #expect(
                badAssociation.errors == [
                    "node n1, monitor default, settings FileSystem, association output line 1, column 1: unknown class CIM_Nothing (not in the installed model)",
                    "node n1, monitor default, settings FileSystem, association output line 2, column 1: the path gives no value for key CSCreationClassName of CIM_FileSystem",
                    "node n1, monitor default, settings FileSystem, association output line 3, column 37: unterminated quoted value: no closing \"",
                ])
        }
    }

    @Test func malformedUpdateOutput() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try c.discover(discovery("n1", [("ComputerSystem", Lines.system("n1"), nil), ("FileSystem", Lines.fileSystem("n1", "/"), nil)]))
            let place = "node n1, settings FileSystem, property FileSystemSize, update output"
            let outcome = try c.apply(
                update(
                    "n1", "FileSystem", "FileSystemSize",
                    line("CIM_FileSystem", "CIM_ComputerSystem", "n1", "/", "-5")
                        + line("CIM_FileSystem", "CIM_ComputerSystem", "n1", "/gone", "5")
                        + line("CIM_FileSystem", "CIM_ComputerSystem", "n1", "/")
                        + "CIM_FileSystem" + RS + "CIM_ComputerSystem" + RS + "n1" + RS + "/" + RS + "1" + GS + "\n"))
            #expect(
                outcome.errors == [
                    "\(place) line 1, column 40: value out of range for CIM_FileSystem.FileSystemSize: -5 (uint64 is 0…18446744073709551615)",
                    "\(place) line 2, column 1: node n1 does not report \(Lines.fileSystemPath("n1", "/gone")) (settings FileSystem)",
                    "\(place) line 3, column 39: expected 5 fields (the key properties in KeyPropertyOrder, then the value of FileSystemSize), found 4",
                    "\(place) line 4, column 41: GS (an empty value) must be a whole field or a whole array entry",
                ])
            #expect(try c.count("SELECT * FROM CIM_FileSystem WHERE filesystemsize IS NOT NULL") == 0)
            let unknown = try c.apply(update("n1", "FileSystem", "Colour", ""))
            #expect(
                unknown.errors == [
                    "node n1, settings FileSystem, property Colour: no such inventory property (settings FileSystem has no property Colour, or the class is not in the installed model)"
                ])
        }
    }

    @Test func outputsOverTheCapAreRejected() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let big = String(repeating: Lines.fileSystem("n1", "/x"), count: 1)
            let processor = DiscoveryProcessor(catalog: try c.catalog(), maximumOutputBytes: 20)
            let outcome = try processor.apply(discovery("n1", [("FileSystem", big, nil)]), on: c)
            #expect(
                outcome.errors == [
                    "node n1, monitor default, settings FileSystem: the discovery output is \(big.utf8.count) bytes, over the cap of 20"
                ])
        }
    }
}
