import CIM
import Fleet
import Foundation
import Ingest
import Inventory
import ORM
import SQLCore
import Store
import Testing

/// Results applied in batches (as a server applies what agents send): the same inventory as one
/// by one, shared instances, results of one monitor in order, rejections and the database
/// refusing a batch.
@Suite struct BatchTests {
    /// What an inventory holds, without ids: paths, sources, deployments, events by kind, and
    /// the values of the updated classes.
    func fingerprint(_ c: Connection) throws -> [String] {
        try [
            "SELECT string_agg(path, '|' ORDER BY path) FROM cimdb.instance",
            "SELECT string_agg(s.node || s.settings || i.path, '|' ORDER BY s.node, s.settings, i.path) FROM cimdb.instance_source s JOIN cimdb.instance i ON i.id = s.instance_id",
            "SELECT string_agg(node || settings || property_name, '|' ORDER BY node, settings, property_name) FROM cimdb.update_deployment",
            "SELECT string_agg(kind || ':' || n, '|' ORDER BY kind) FROM (SELECT kind, count(*) AS n FROM cimdb.event GROUP BY kind) AS e",
            "SELECT string_agg(concat_ws(',', systemname, deviceid, currentclockspeed, family, description, stepping, addresswidth), '|' ORDER BY systemname, deviceid) FROM cim_processor",
            "SELECT string_agg(concat_ws(',', csname, name, filesystemsize, availablespace, filesystemtype), '|' ORDER BY csname, name) FROM cim_filesystem",
            "SELECT string_agg(concat_ws(',', systemname, deviceid, speed, networkaddresses::text), '|' ORDER BY systemname, deviceid) FROM cim_ethernetport",
        ].map { try c.execute($0).first?.string(0) ?? "" }
    }

    @Test func aBatchGivesWhatOneByOneGives() async throws {
        let configuration = try Fleet.benchmarkConfiguration()
        let fleet = Fleet(size: 5, seed: 21, configuration: configuration)
        var fingerprints: [[String]] = []
        for batched in [false, true] {
            let pool = try await inventoryDatabase(configured: false)
            defer { Task { await pool.close() } }
            fingerprints.append(
                try await pool.withConnection { c in
                    try ConfigurationStore.apply(configuration, on: c)
                    let discovery = DiscoveryProcessor(catalog: try c.catalog()), updates = UpdateProcessor(catalog: try c.catalog())
                    for round in 0..<2 {
                        let nodes = (0..<fleet.size).map { fleet.node($0, round: round, fraction: 0.3) }
                        let found = nodes.map { Delivery(fleet.discoveryResult($0, sequence: Int64(round + 1))) }
                        let values = nodes.flatMap { fleet.updateResults($0, sequence: Int64(round + 1)) }.map { Delivery($0) }
                        let outcomes: [String]
                        if batched {
                            outcomes = try discovery.apply(found, on: c).map { "\($0)" } + updates.apply(values, on: c).map { "\($0)" }
                        } else {
                            outcomes =
                                try found.map { "\(try discovery.apply($0.result, on: c))" } + values.map { "\(try updates.apply($0.result, on: c))" }
                        }
                        #expect(outcomes.allSatisfy { $0.hasPrefix("applied") }, "\(outcomes.filter { !$0.hasPrefix("applied") })")
                    }
                    return try fingerprint(c)
                })
        }
        #expect(fingerprints[0] == fingerprints[1])
        #expect(fingerprints[0][3].contains("changed:"), "the second round changes values: \(fingerprints[0][3])")
    }

    @Test func anInstanceTwoNodesReportInOneBatchIsCreatedOnce() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let shared = line("CIM_FileSystem", "CIM_ComputerSystem", "nas", "/export")
            let batch = ["n1", "n2"].map { Delivery(discovery($0, [("ComputerSystem", Lines.system($0), nil), ("FileSystem", shared, nil)])) }
            let outcomes = try DiscoveryProcessor(catalog: try c.catalog()).apply(batch, on: c)
            #expect(outcomes.map(\.summary?.created) == [2, 1])
            #expect(outcomes.map(\.summary?.attached) == [0, 1])
            #expect(try c.count("SELECT * FROM CIM_FileSystem") == 1)
            #expect(try c.count("SELECT * FROM cimdb.instance_source WHERE settings = 'FileSystem'") == 2)
            #expect(try c.count("SELECT * FROM cimdb.event WHERE kind = 'created' AND class_name = 'CIM_FileSystem'") == 1)
        }
    }

    @Test func resultsOfOneMonitorInOneBatchApplyInOrder() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let batch = [
                Delivery(
                    discovery(
                        "n1", sequence: 1,
                        [
                            ("ComputerSystem", Lines.system("n1"), nil),
                            ("FileSystem", Lines.fileSystem("n1", "/") + Lines.fileSystem("n1", "/data"), nil),
                        ])),
                Delivery(
                    discovery("n1", sequence: 2, [("ComputerSystem", Lines.system("n1"), nil), ("FileSystem", Lines.fileSystem("n1", "/"), nil)])),
                Delivery(
                    discovery(
                        "n1", sequence: 1,
                        [
                            ("ComputerSystem", Lines.system("n1"), nil),
                            ("FileSystem", Lines.fileSystem("n1", "/") + Lines.fileSystem("n1", "/data"), nil),
                        ])),
            ]
            let outcomes = try DiscoveryProcessor(catalog: try c.catalog()).apply(batch, on: c)
            #expect(outcomes[0].summary?.created == 3)
            #expect(outcomes[1].summary?.deleted == 1)
            #expect(outcomes[2] == .duplicate(sequence: 1, lastApplied: 2))
            #expect(try c.count("SELECT * FROM CIM_FileSystem") == 1)
            let kinds = try c.execute("SELECT kind FROM cimdb.event WHERE instance_path LIKE '%/data%' ORDER BY id").map { $0.string(0) }
            #expect(kinds == ["created", "deleted"])
        }
    }

    @Test func aRejectedResultLeavesTheRestOfTheBatchApplied() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let batch = ["n1", "n2", "n3"].map { node in
                Delivery(
                    discovery(
                        node,
                        [
                            ("ComputerSystem", Lines.system(node), nil),
                            ("FileSystem", node == "n2" ? line("CIM_FileSystem", "CIM_ComputerSystem", node) : Lines.fileSystem(node, "/"), nil),
                        ]))
            }
            let outcomes = try DiscoveryProcessor(catalog: try c.catalog()).apply(batch, on: c)
            #expect(outcomes[0].summary?.created == 2 && outcomes[2].summary?.created == 2)
            #expect(
                outcomes[1].errors.count == 1
                    && outcomes[1].errors[0].hasPrefix("node n2, monitor default, settings FileSystem, discovery output line 1"))
            #expect(try c.count("SELECT * FROM cimdb.instance_source WHERE node = 'n2'") == 0)
            #expect(try c.count("SELECT * FROM cimdb.rejected_result WHERE node = 'n2'") == 1)
            #expect(try c.count("SELECT * FROM CIM_ComputerSystem") == 2)
        }
    }

    /// A constraint the processors cannot know (an operator's trigger): the batch fails in the
    /// database, its results are applied one by one, and only the offending one is rejected.
    @Test func whenTheDatabaseRefusesABatchItsResultsAreAppliedOneByOne() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            try c.executeScript(
                """
                CREATE FUNCTION pg_temp.no_scratch() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.name = '/scratch' OR NEW.filesystemsize = 666 THEN RAISE EXCEPTION 'no %', NEW.name; END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER no_scratch BEFORE INSERT OR UPDATE ON cim.cim_filesystem FOR EACH ROW EXECUTE FUNCTION pg_temp.no_scratch();
                """)
            let found = try DiscoveryProcessor(catalog: try c.catalog()).apply(
                ["n1", "n2", "n3"].map { node in
                    Delivery(
                        discovery(
                            node,
                            [
                                ("ComputerSystem", Lines.system(node), nil),
                                ("FileSystem", Lines.fileSystem(node, node == "n2" ? "/scratch" : "/"), nil),
                            ]))
                }, on: c)
            #expect(found[0].summary?.created == 2 && found[2].summary?.created == 2, "\(found)")
            #expect(
                found[1].errors.count == 1 && found[1].errors[0].contains("node n2, monitor default: the database refused the result: no /scratch"),
                "\(found[1])")
            #expect(try c.count("SELECT * FROM cimdb.instance_source WHERE node = 'n2'") == 0)

            let sizes = try UpdateProcessor(catalog: try c.catalog()).apply(
                ["n1", "n3"].map { node in
                    Delivery(
                        update(
                            node, "FileSystem", "FileSystemSize", line("CIM_FileSystem", "CIM_ComputerSystem", node, "/", node == "n1" ? "666" : "7"))
                    )
                }, on: c)
            #expect(sizes[0].errors.count == 1 && sizes[0].errors[0].contains("the database refused the result: no /"), "\(sizes[0])")
            #expect(sizes[1].summary?.changed == 1)
            #expect(try c.execute("SELECT csname, filesystemsize FROM cim_filesystem ORDER BY csname").map { $0.string(1) } == [nil, "7"])
            #expect(try c.count("SELECT * FROM cimdb.rejected_result") == 2)
        }
    }

    /// An association whose end goes while the script that reports the association failed (its
    /// associations are left alone): the database's cascade deletes it, and the deletion is an
    /// event like any other.
    @Test func associationsThatGoWithAnInstanceAreReported() async throws {
        let pool = try await inventoryDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let first = try c.discover(
                discovery(
                    "n1",
                    [
                        ("ComputerSystem", Lines.system("n1"), Lines.hosted("n1", "/") + Lines.hosted("n1", "/data")),
                        ("FileSystem", Lines.fileSystem("n1", "/") + Lines.fileSystem("n1", "/data"), nil),
                    ]))
            #expect(first.summary?.created == 5, "\(first)")
            let gone = try c.discover(
                discovery(
                    "n1", [("ComputerSystem", "", nil), ("FileSystem", Lines.fileSystem("n1", "/"), nil)],
                    status: ["ComputerSystem": .failed]))
            #expect(gone.summary?.deleted == 2, "\(gone)")
            #expect(try c.count("SELECT * FROM CIM_HostedFileSystem") == 1)
            let events = try c.execute("SELECT class_name, severity, instance_path FROM cimdb.event WHERE kind = 'deleted' ORDER BY id")
            #expect(events.map { $0.string(0) } == ["CIM_HostedFileSystem", "CIM_FileSystem"])
            #expect(events.allSatisfy { $0.string(1) == "warning" && $0.string(2)!.contains("/data") })
        }
    }
}
