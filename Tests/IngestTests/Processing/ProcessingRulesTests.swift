import CIM
import Foundation
import Ingest
import Inventory
import ORM
import SQLCore
import Store
import Testing

/// The instance log, parent/child skipping, failed runs, association references, value
/// semantics, and notifications.
@Suite struct ProcessingRulesTests {
    @Test func aSharedInstanceLivesWhileAnyNodeReportsIt() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            // Two nodes report the same file system (the same keys: a shared file system).
            let shared = line("CIM_FileSystem", "CIM_ComputerSystem", "nas", "/export")
            for node in ["n1", "n2"] {
                let outcome = try c.discover(discovery(node, [("ComputerSystem", Lines.system(node), nil), ("FileSystem", shared, nil)]))
                #expect(outcome.errors.isEmpty, "\(outcome)")
            }
            #expect(try c.count("SELECT * FROM CIM_FileSystem") == 1)
            #expect(try c.count("SELECT * FROM cimdb.instance_source WHERE settings = 'FileSystem'") == 2)
            let n1Gone = try c.discover(discovery("n1", [("ComputerSystem", Lines.system("n1"), nil), ("FileSystem", "", nil)]))
            #expect(n1Gone.summary?.detached == 1 && n1Gone.summary?.deleted == 0)
            #expect(try c.count("SELECT * FROM CIM_FileSystem") == 1)
            let n2Gone = try c.discover(discovery("n2", [("ComputerSystem", Lines.system("n2"), nil), ("FileSystem", "", nil)]))
            #expect(n2Gone.summary?.deleted == 1)
            #expect(try c.count("SELECT * FROM CIM_FileSystem") == 0)
        }
    }

    @Test func childrenOfAParentThatFoundNothingAreSkipped() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let ports = Lines.port("n1", "eth0")
            let endpoints = Lines.endpoint("n1", "IPv4_eth0")
            let first = try c.discover(
                discovery("n1", [("ComputerSystem", Lines.system("n1"), nil), ("EthernetPort", ports, nil), ("IPProtocolEndpoint", endpoints, nil)]))
            #expect(first.summary?.created == 3)
            #expect(try c.count("SELECT * FROM cimdb.update_deployment WHERE settings = 'IPProtocolEndpoint'") == 4)
            // No ports any more: the endpoints' settings (child of EthernetPort) are skipped, so
            // the node reports no endpoints either.
            let skipped = try c.discover(discovery("n1", [("ComputerSystem", Lines.system("n1"), nil), ("EthernetPort", "", nil)]))
            #expect(skipped.summary?.skippedSettings == ["IPProtocolEndpoint"])
            #expect(skipped.summary?.deleted == 2)
            #expect(try c.count("SELECT * FROM CIM_IPProtocolEndpoint") == 0)
            #expect(try c.count("SELECT * FROM cimdb.update_deployment WHERE settings = 'IPProtocolEndpoint'") == 0)
            // A child that reports instances although its parent found none is inconsistent.
            let inconsistent = try c.discover(discovery("n1", [("EthernetPort", "", nil), ("IPProtocolEndpoint", endpoints, nil)]))
            #expect(
                inconsistent.errors == [
                    "node n1, monitor default, settings IPProtocolEndpoint: the parent EthernetPort found no instances, so this settings object is skipped, but its output reports instances"
                ])
            // The agent marks the skip itself, too.
            let marked = try c.discover(discovery("n1", [("ComputerSystem", "", nil), ("FileSystem", "", nil)], status: ["FileSystem": .skipped]))
            #expect(marked.errors.isEmpty)
            #expect(try c.count("SELECT * FROM CIM_ComputerSystem") == 0)
        }
    }

    @Test func aFailedScriptLeavesItsInstancesAlone() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try c.discover(discovery("n1", [("ComputerSystem", Lines.system("n1"), nil), ("FileSystem", Lines.fileSystem("n1", "/"), nil)]))
            let failed = try c.discover(
                discovery("n1", [("ComputerSystem", Lines.system("n1"), nil), ("FileSystem", "", nil)], status: ["FileSystem": .failed]))
            #expect(failed.summary?.failedSettings == ["FileSystem"])
            #expect(failed.summary?.deleted == 0)
            #expect(try c.count("SELECT * FROM CIM_FileSystem") == 1)
            // Settings that did not run at all stay as they are too.
            let partial = try c.discover(discovery("n1", [("ComputerSystem", Lines.system("n1"), nil)]))
            #expect(partial.summary?.deleted == 0)
            #expect(try c.count("SELECT * FROM CIM_FileSystem") == 1)
        }
    }

    @Test func associationsMayOnlyReferToTheNodesInstances() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try c.discover(discovery("n2", [("ComputerSystem", Lines.system("n2"), nil)]))
            let before = try c.count("SELECT * FROM cimdb.instance")
            // n1 reports its file system hosted by n2's computer system, which n1 does not report.
            let outcome = try c.discover(
                discovery(
                    "n1",
                    [
                        ("ComputerSystem", Lines.system("n1"), nil),
                        (
                            "FileSystem", Lines.fileSystem("n1", "/"),
                            InstancePath(
                                className: "CIM_HostedFileSystem",
                                keys: [
                                    ("GroupComponent", .string(Lines.systemPath("n2"))), ("PartComponent", .string(Lines.fileSystemPath("n1", "/"))),
                                ]
                            ).description + "\n"
                        ),
                    ]))
            #expect(
                outcome.errors == [
                    "node n1, monitor default, settings FileSystem, association output line 1, column 1: CIM_HostedFileSystem.GroupComponent refers to \(Lines.systemPath("n2")), which node n1 does not report"
                ])
            // Nothing of that result was applied.
            #expect(try c.count("SELECT * FROM cimdb.instance") == before)
            #expect(try c.count("SELECT * FROM cimdb.instance_source WHERE node = 'n1'") == 0)
        }
    }

    @Test func emptyValuesAndArraysFollowTheWireFormat() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try c.discover(
                discovery(
                    "n1", [("ComputerSystem", Lines.system("n1"), nil), ("EthernetPort", Lines.port("n1", "eth0") + Lines.port("n1", "eth1"), nil)]))
            let addresses =
                line("CIM_EthernetPort", "eth0", "CIM_ComputerSystem", "n1", "001122334455" + US + GS + US + "AABBCCDDEEFF")
                + line("CIM_EthernetPort", "eth1", "CIM_ComputerSystem", "n1", GS)
            #expect(try c.apply(update("n1", "EthernetPort", "NetworkAddresses", addresses)).summary?.changed == 1)
            let rows = try c.execute("SELECT deviceid, networkaddresses FROM CIM_EthernetPort ORDER BY deviceid")
            #expect(rows.map { $0.stringArray("networkaddresses") } == [["001122334455", "", "AABBCCDDEEFF"], nil])
            // GS is the empty string for a string property and NULL for other types.
            try c.apply(update("n1", "ComputerSystem", "Caption", line("CIM_ComputerSystem", "n1", GS)))
            #expect(try c.execute("SELECT caption FROM CIM_ComputerSystem").first?["caption"] == "")
            try c.apply(update("n1", "EthernetPort", "Speed", line("CIM_EthernetPort", "eth0", "CIM_ComputerSystem", "n1", GS)))
            #expect(try c.execute("SELECT speed FROM CIM_EthernetPort WHERE deviceid = 'eth0'").first?["speed"] == nil)
            // Escapes: \n is a line break, \\ a backslash.
            try c.apply(update("n1", "ComputerSystem", "Caption", line("CIM_ComputerSystem", "n1", #"rack 4\nslot \\7"#)))
            #expect(try c.execute("SELECT caption FROM CIM_ComputerSystem").first?["caption"] == "rack 4\nslot \\7")
        }
    }

    @Test func newEventsAreNotified() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        let conninfo = pool.conninfo
        try await pool.withConnection { c in
            let listener = try Connection(conninfo)
            defer { listener.close() }
            try listener.listen("cimdb_event")
            try c.discover(discovery("n1", [("ComputerSystem", Lines.system("n1"), nil)]))
            let notifications = try listener.notifications(timeout: .seconds(5))
            #expect(notifications.count == 1)
            let payload = try #require(notifications.first?.payload)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Int])
            #expect(json["count"] == 1)
            #expect(json["first"] == json["last"])
            #expect(try c.count("SELECT * FROM cimdb.event WHERE id = \(json["first"]!)") == 1)
        }
    }
}
