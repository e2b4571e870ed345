import CIM
import Fleet
import Foundation
import Ingest
import Installation
import Inventory
import Migrations
import ORM
import SQLCore
import Store
import Testing

/// A fleet's inventory, applied the way a server applies it, with the report views installed.
func fleetDatabase(nodes: Int, seed: UInt64, rounds: Int = 1) async throws -> (ConnectionPool, Fleet) {
    let configuration = try Fleet.benchmarkConfiguration()
    let fleet = Fleet(size: nodes, seed: seed, configuration: configuration)
    let pool = try await inventoryDatabase(configured: false)
    try await pool.withConnection { c in
        try ConfigurationStore.apply(configuration, on: c)
        try Reports.install(on: c)
        let catalog = try c.catalog()
        for round in 0..<rounds {
            let found = (0..<nodes).map { Delivery(fleet.discoveryResult(fleet.node($0, round: round), sequence: Int64(round + 1))) }
            for outcome in try DiscoveryProcessor(catalog: catalog).apply(found, on: c) where outcome.summary == nil { Issue.record("\(outcome)") }
            let values = (0..<nodes).flatMap { fleet.updateResults(fleet.node($0, round: round), sequence: Int64(round + 1)) }.map { Delivery($0) }
            for outcome in try UpdateProcessor(catalog: catalog).apply(values, on: c) where outcome.summary == nil { Issue.record("\(outcome)") }
        }
    }
    return (pool, fleet)
}

extension FleetNode {
    /// A property's text on every object of a settings object (nil for GS or absent).
    func texts(_ settings: String, _ property: String) -> [String?] {
        (objects[settings] ?? []).map { object in
            if case .value(let text)? = object.values[property] { return text }
            return nil
        }
    }

    func sum(_ settings: String, _ property: String) -> Decimal? {
        let values = texts(settings, property).compactMap { $0.flatMap { Decimal(string: $0) } }
        return values.isEmpty ? nil : values.reduce(0, +)
    }
}

@Suite struct ReportTests {
    @Test func nodeSummaryMatchesTheFleet() async throws {
        let (pool, fleet) = try await fleetDatabase(nodes: 6, seed: 5)
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in try Self.expectSummary(of: (0..<fleet.size).map { fleet.node($0) }, on: c) }
    }

    /// node_summary answers from stored aggregates: a changed value or a vanished instance
    /// marks its node, which the view computes live until the next refresh stores it again.
    @Test func nodeSummaryStaysExactWhenStoredAndChanged() async throws {
        let (pool, fleet) = try await fleetDatabase(nodes: 3, seed: 21)
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let catalog = try c.catalog()
            #expect(try Reports.refreshAggregates(on: c) == 3)
            #expect(try c.count("SELECT * FROM report.node_hardware_dirty") == 0)
            try Self.expectSummary(of: (0..<3).map { fleet.node($0) }, on: c)

            // Every value changes (models, capacities, sizes, speeds); node 0 loses a processor.
            var changed = (0..<3).map { fleet.node($0, round: 1, fraction: 1) }
            changed[0].objects["Processor"]!.removeLast()
            changed[0].associations["Processor"]!.removeLast()
            _ = try DiscoveryProcessor(catalog: catalog).apply([Delivery(fleet.discoveryResult(changed[0], sequence: 2))], on: c)
            _ = try UpdateProcessor(catalog: catalog).apply(changed.flatMap { fleet.updateResults($0, sequence: 2) }.map { Delivery($0) }, on: c)
            #expect(try c.count("SELECT * FROM report.node_hardware_dirty") == 3)
            try Self.expectSummary(of: changed, on: c)  // live
            #expect(try Reports.refreshAggregates(on: c) == 3)
            try Self.expectSummary(of: changed, on: c)  // stored
        }
    }

    /// psql users read what a report is with \\d+: every view, table and function of schema
    /// report says what it holds.
    @Test func everyReportObjectIsCommented() async throws {
        let (pool, _) = try await fleetDatabase(nodes: 1, seed: 2)
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let relations = try c.execute(
                """
                SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'report' AND c.relkind IN ('r', 'v', 'm') AND obj_description(c.oid, 'pg_class') IS NULL
                """
            ).compactMap { $0.string(0) }
            let functions = try c.execute(
                """
                SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'report' AND obj_description(p.oid, 'pg_proc') IS NULL
                """
            ).compactMap { $0.string(0) }
            #expect(relations.isEmpty, "without a comment: \(relations)")
            #expect(functions.isEmpty, "without a comment: \(functions)")
            #expect(try c.count("SELECT * FROM pg_views WHERE schemaname = 'report'") >= 8)
        }
    }

    /// node_summary against the nodes' own values, computed here.
    static func expectSummary(of nodes: [FleetNode], on c: Connection) throws {
        let rows = try c.execute(
            "SELECT node, hostname, cpus, cpu_model, memory_bytes, filesystem_bytes, nics, fastest_nic_bps, last_discovery IS NOT NULL AS seen, stale FROM report.node_summary ORDER BY node"
        )
        .map { row in (0..<10).map { row.string($0) } }
        #expect(rows.count == nodes.count)
        for (node, row) in zip(nodes, rows) {
            let models = node.texts("Processor", "Description").compactMap { $0 }
            let commonest = Dictionary(grouping: models, by: { $0 }).max { a, b in
                a.value.count != b.value.count ? a.value.count < b.value.count : a.key > b.key
            }?.key
            let speeds = node.texts("EthernetPort", "Speed").compactMap { $0.flatMap { Int64($0) } }
            #expect(row[0] == node.name && row[1] == node.name)
            #expect(row[2] == String(node.objects["Processor"]!.count))
            #expect(row[3] == commonest)
            #expect(row[4].flatMap { Decimal(string: $0) } == node.sum("PhysicalMemory", "Capacity"))
            #expect(row[5].flatMap { Decimal(string: $0) } == node.sum("FileSystem", "FileSystemSize"))
            #expect(row[6] == String(node.objects["EthernetPort"]!.count))
            #expect(row[7] == speeds.max().map(String.init))
            #expect(row[8] == "t" && row[9] == "f")
        }
    }

    @Test func countsChangesOverdueAndValueNames() async throws {
        let (pool, fleet) = try await fleetDatabase(nodes: 4, seed: 9, rounds: 2)
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let cpus = (0..<fleet.size).reduce(0) { $0 + fleet.node($1).objects["Processor"]!.count }
            let objects = (0..<fleet.size).reduce(0) { $0 + fleet.node($1).instanceCount }
            let counts = Dictionary(
                uniqueKeysWithValues: try c.execute("SELECT class_name, instances, own_instances FROM report.instance_counts")
                    .map { ($0.string(0)!, [$0.int(1)!, $0.int(2)!]) })
            #expect(counts["CIM_Processor"] == [cpus, cpus])
            #expect(counts["CIM_ManagedElement"]?[0] == objects)  // every non-association instance descends from it
            #expect(counts["CIM_ManagedElement"]?[1] == 0)
            let devices = try c.count("SELECT * FROM CIM_LogicalDevice")
            #expect(counts["CIM_LogicalDevice"]?[0] == devices)

            // The second round changed values: each is an event with readable names.
            let changed = try c.execute(
                "SELECT class, property, old_value, new_value, old_name, new_name, instance FROM report.recent_changes WHERE kind = 'changed'")
            let events = try c.count("SELECT * FROM cimdb.event WHERE kind = 'changed'")
            #expect(changed.count == events)
            #expect(changed.count > 0)
            #expect(changed.allSatisfy { $0.string(0)?.hasPrefix("CIM_") == false && $0.string(6)?.contains("=") == true })
            for row in changed where row.string(1) == "PortType" {
                let name = try c.execute("SELECT cimdb.value_name('CIM_EthernetPort', 'PortType', \(row.string(3))::text)").first?.string(0)
                #expect(row.string(5) == name)
                #expect(row.string(5) != nil)
            }
            let ports = try c.execute("SELECT porttype, port_type FROM report.ethernet_ports")
            #expect(ports.count > 0 && ports.allSatisfy { $0.string(0) == nil || $0.string(1) != nil })

            // Nothing is overdue right after the updates; a monitor whose last run is older
            // than its period is.
            #expect(try c.count("SELECT * FROM report.overdue_properties") == 0)
            try c.execute(
                "UPDATE cimdb.update_run SET applied_at = now() - interval '1 hour' WHERE node = \(fleet.node(1).name) AND property_name = 'CurrentClockSpeed'"
            )
            let overdue = try c.execute("SELECT node, property, period, overdue_by > interval '50 minutes' FROM report.overdue_properties")
            #expect(
                overdue.map { [$0.string(0), $0.string(1), $0.string(2), $0.string(3)] } == [
                    [fleet.node(1).name, "CurrentClockSpeed", "00:08:00", "t"]
                ])
        }
    }

    @Test func compareNodes() async throws {
        let (pool, fleet) = try await fleetDatabase(nodes: 2, seed: 13)
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let a = fleet.node(0), b = fleet.node(1)
            #expect(try c.count("SELECT * FROM report.compare_nodes(\(a.name), \(a.name))") == 0)
            let rows = try c.execute("SELECT class_name, instance, property, value_a, value_b FROM report.compare_nodes(\(a.name), \(b.name))")
            // Processors only one node has show as present/absent.
            let onlyA = rows.filter { $0.string(0) == "CIM_Processor" && $0.string(2) == nil && $0.string(3) == "present" }.count
            let onlyB = rows.filter { $0.string(0) == "CIM_Processor" && $0.string(2) == nil && $0.string(4) == "present" }.count
            let cpusA = a.objects["Processor"]!.count, cpusB = b.objects["Processor"]!.count
            #expect(onlyA == max(0, cpusA - cpusB) && onlyB == max(0, cpusB - cpusA))
            // CPU0 exists on both: its clock speed differs exactly when the fleet's does.
            let clock = rows.filter {
                $0.string(0) == "CIM_Processor" && $0.string(2) == "CurrentClockSpeed" && $0.string(1)!.contains(#"DeviceID="CPU0""#)
            }
            let expected = a.texts("Processor", "CurrentClockSpeed")[0] != b.texts("Processor", "CurrentClockSpeed")[0]
            #expect(clock.count == (expected ? 1 : 0))
            if let row = clock.first {
                #expect(
                    [row.string(3), row.string(4)] == [a.texts("Processor", "CurrentClockSpeed")[0], b.texts("Processor", "CurrentClockSpeed")[0]])
            }
            #expect(rows.allSatisfy { $0.string(1)?.contains(a.name) == false && $0.string(1)?.contains(b.name) == false })
        }
    }

    /// A reader role reads the model and the reports, writes nothing, and cannot see the
    /// configuration's scripts or the raw results; the grant survives a rebuild of the reports.
    @Test func readerRole() async throws {
        let (pool, _) = try await fleetDatabase(nodes: 1, seed: 3)
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let role = "reader_\(UUID().uuidString.prefix(8).lowercased())"
            #expect(throws: Reports.ReaderError.self) { try Reports.grantReader(role, on: c) }
            try c.execute("CREATE ROLE \(identifier: role) NOLOGIN")
            defer {
                _ = try? c.execute("RESET ROLE")
                _ = try? c.execute("DROP OWNED BY \(identifier: role)")
                _ = try? c.execute("DROP ROLE \(identifier: role)")
            }
            try Reports.grantReader(role, on: c)
            try Reports.install(on: c)  // rebuilt: the grants come back
            try c.execute("SET ROLE \(identifier: role)")
            #expect(try c.count("SELECT * FROM CIM_ComputerSystem") == 1)
            #expect(try c.count("SELECT * FROM report.node_summary") == 1)
            #expect(try c.count("SELECT * FROM report.ethernet_ports") > 0)
            #expect(try c.count("SELECT * FROM report.recent_changes") > 0)
            #expect(try c.execute("SELECT cimdb.value_name('CIM_EthernetPort', 'PortType', 55)").first?.string(0) != nil)
            for forbidden: SQL in [
                "SELECT * FROM cimdb.script", "SELECT * FROM cimdb.rejected_result", "SELECT * FROM cimdb.inventory_settings",
                "INSERT INTO cimdb.instance (class_name, path) VALUES ('CIM_ComputerSystem', 'x')",
                "UPDATE cim.cim_computersystem SET caption = 'x'", "DELETE FROM cim.cim_processor", "CREATE TABLE report.mine (x int)",
            ] {
                #expect(throws: PostgresError.self, "\(forbidden)") { try c.execute(forbidden) }
            }
        }
    }
}
