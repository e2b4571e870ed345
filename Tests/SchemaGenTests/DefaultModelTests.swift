import CIM
import CIMModel
import Foundation
import ModelStore
import ORM
import SchemaGen
import SQLCore
import Store
import StoreTesting
import Testing

/// The default model, installed by the product's migrations into a real PostgreSQL.
@Suite struct DefaultModelTests {
    @Test func descriptionsAreColumnComments() async throws {
        let pool = try await freshDatabase()
        defer { Task { await pool.close() } }
        let port = try #require(defaultModel.class(named: "CIM_EthernetPort"))
        let comments = try await pool.withConnection { connection in
            try connection.execute(
                """
                SELECT a.attname, col_description(a.attrelid, a.attnum) AS comment
                FROM pg_attribute a WHERE a.attrelid = 'cim.cim_ethernetport'::regclass AND a.attnum > 0
                """
            ).reduce(into: [String: String]()) { $0[$1["attname"]!] = $1["comment"] }
        }
        for property in port.properties {
            let comment = try #require(comments[SQLNames.column(for: property.name)], "no comment on \(property.name)")
            #expect(comment.hasPrefix(try #require(property.description)), "\(property.name)")
        }
        let table = try await pool.withConnection { connection in
            try connection.execute("SELECT obj_description('cim.cim_ethernetport'::regclass, 'pg_class') AS c").first?["c"]
        }
        #expect(table == "CIM_EthernetPort: Capabilities and management of an EthernetPort.")
    }

    @Test func polymorphicCountAndCascadingRemoval() async throws {
        let pool = try await freshDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { connection in
            let store = InstanceStore(catalog: try ModelCatalog.load(from: connection))
            try store.add(className: "CIM_ComputerSystem", assignments: [("Name", "node1")], on: connection)
            let system = #"CIM_ComputerSystem.CreationClassName="CIM_ComputerSystem",Name="node1""#
            let device = [("SystemCreationClassName", "CIM_ComputerSystem"), ("SystemName", "node1")]
            let (_, cpu) = try store.add(
                className: "CIM_Processor", assignments: device + [("DeviceID", "cpu0"), ("CurrentClockSpeed", "2400")], on: connection)
            let (_, port) = try store.add(
                className: "cim_ethernetport", assignments: device + [("DeviceID", "eth0"), ("Speed", "10000000000")], on: connection)
            for part in [cpu, port] {
                try store.add(className: "CIM_SystemDevice", assignments: [("GroupComponent", system), ("PartComponent", part)], on: connection)
            }
            #expect(try connection.execute("SELECT count(*) AS n FROM CIM_LogicalDevice").first?.int("n") == 2)
            #expect(try connection.execute("SELECT SystemName, DeviceID, Speed FROM CIM_EthernetPort").first?["speed"] == "10000000000")
            #expect(try connection.execute("SELECT count(*) AS n FROM cim_systemdevice").first?.int("n") == 2)
            // Associations are not managed elements.
            #expect(try connection.execute("SELECT count(*) AS n FROM CIM_ManagedElement").first?.int("n") == 3)

            let removed = try store.remove(port, on: connection)
            #expect(removed == 2)  // the port and its CIM_SystemDevice
            #expect(try connection.execute("SELECT count(*) AS n FROM cim_systemdevice").first?.int("n") == 1)
            #expect(try connection.execute("SELECT count(*) AS n FROM CIM_LogicalDevice").first?.int("n") == 1)
            // Deleting a row directly (even through a superclass table) also unregisters it.
            try connection.execute("DELETE FROM CIM_LogicalDevice")
            #expect(try connection.execute("SELECT count(*) AS n FROM cimdb.instance").first?.int("n") == 1)
            #expect(try connection.execute("SELECT count(*) AS n FROM cim_systemdevice").first?.int("n") == 0)
        }
    }

    @Test func valuesAreCheckedAndNamedInErrors() async throws {
        let pool = try await freshDatabase()
        defer { Task { await pool.close() } }
        try await pool.withConnection { connection in
            let store = InstanceStore(catalog: try ModelCatalog.load(from: connection))
            let device = [("SystemCreationClassName", "CIM_ComputerSystem"), ("SystemName", "n"), ("DeviceID", "cpu0")]
            #expect(throws: InstanceError.self) {
                try store.add(className: "CIM_Processor", assignments: device + [("AddressWidth", "70000")], on: connection)
            }
            do {
                try store.add(className: "CIM_Processor", assignments: device + [("AddressWidth", "70000")], on: connection)
            } catch {
                #expect("\(error)" == "value out of range for CIM_Processor.AddressWidth: 70000 (uint16 is 0…65535)")
            }
            // The database enforces the same ranges for writers that bypass cimdb.
            #expect(throws: PostgresError.self) {
                try connection.execute("INSERT INTO cimdb.instance (id, class_name, path) VALUES (900, 'CIM_Processor', 'x')")
                try connection.execute(
                    "INSERT INTO cim.cim_processor (instance_id, systemcreationclassname, systemname, creationclassname, deviceid, addresswidth) VALUES (900, 'a', 'b', 'CIM_Processor', 'c', 70000)"
                )
            }
            #expect(throws: PostgresError.self) {
                try connection.execute("INSERT INTO cimdb.instance (id, class_name, path) VALUES (901, 'CIM_LogicalDevice', 'y')")
                try connection.execute(
                    "INSERT INTO cim.cim_logicaldevice (instance_id, systemcreationclassname, systemname, creationclassname, deviceid) VALUES (901, 'a', 'b', 'c', 'd')"
                )
            }
        }
    }

    @Test func valueMapNamesAreShownBesideCodes() async throws {
        let pool = try await freshDatabase()
        defer { Task { await pool.close() } }
        let row = try await pool.withConnection { connection in
            try connection.execute(
                """
                SELECT cimdb.value_name('CIM_EthernetPort', 'PortType', 55) AS exact,
                       cimdb.value_name('CIM_EthernetPort', 'PortType', 16001) AS ranged,
                       cimdb.value_name('CIM_EthernetPort', 'LinkTechnology', 2::smallint) AS inherited,
                       cimdb.value_name('cim_processor', 'cpustatus', 1) AS family,
                       (SELECT count(*) FROM cimdb.value_map) AS rows
                """
            ).first
        }
        #expect(row?["exact"] == "10GBaseT")
        #expect(row?["ranged"] == "Vendor Reserved")
        #expect(row?["inherited"] == "Ethernet")
        #expect(row?["family"] == "CPU Enabled")
        #expect((row?.int("rows") ?? 0) > 1000)
    }

    @Test func generatedSwiftTypesRoundTripThroughTheirTables() async throws {
        let pool = try await freshDatabase()
        defer { Task { await pool.close() } }
        #expect(ModelTypes.all.count == defaultModel.classes.count)
        #expect(ModelTypes.type(named: "cim_ethernetport") == CIM_EthernetPort.self)
        var port = CIM_EthernetPort(systemCreationClassName: "CIM_ComputerSystem", systemName: "n1", deviceID: "eth0")
        port.speed = UInt64.max
        port.networkAddresses = ["001122334455", nil]
        port.fullDuplex = true
        port.installDate = "20240131123000.000000+060"
        port.maxDataSize = UInt32.max
        let stored = port
        let fetched = try await pool.withConnection { connection in
            _ = try stored.insert(on: connection)
            let time = try connection.execute("SELECT installdate_time AT TIME ZONE 'UTC' AS t FROM cim_ethernetport").first?["t"]
            #expect(time == "2024-01-31 11:30:00")
            return try CIM_EthernetPort.fetchAll(on: connection)
        }
        #expect(fetched == [port])
        #expect(
            port.path().description
                == #"CIM_EthernetPort.CreationClassName="CIM_EthernetPort",DeviceID="eth0",SystemCreationClassName="CIM_ComputerSystem",SystemName="n1""#
        )
    }

    @Test func searchPathShowsBothSchemas() async throws {
        let pool = try await freshDatabase()
        defer { Task { await pool.close() } }
        let path = try await pool.withConnection { connection in try connection.execute("SHOW search_path").first?[0] }
        #expect(path == "cim, cimdb, public")
    }
}
