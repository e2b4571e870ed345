import CIM
import Export
import Fleet
import Foundation
import Ingest
import InstallationTesting
import Inventory
import Migrations
import ModelStore
import ORM
import SQLCore
import Store
import StoreTesting
import TestSupport
import Testing

/// A database with cimdb's schema and the benchmark configuration, filled with a fleet.
func fleetInventory(nodes: Int, seed: UInt64) async throws -> ConnectionPool {
    let pool = ConnectionPool(conninfo: try await TestDatabases.installed(), size: 1)
    let configuration = try Fleet.benchmarkConfiguration()
    let fleet = Fleet(size: nodes, seed: seed, configuration: configuration)
    try await pool.withConnection { c in
        try ConfigurationStore.apply(configuration, on: c)
        let catalog = try ModelCatalog.load(from: c)
        _ = try DiscoveryProcessor(catalog: catalog).apply((0..<nodes).map { Delivery(fleet.discoveryResult(fleet.node($0), sequence: 1)) }, on: c)
        _ = try UpdateProcessor(catalog: catalog).apply(
            (0..<nodes).flatMap { fleet.updateResults(fleet.node($0), sequence: 1) }.map { Delivery($0) }, on: c)
    }
    return pool
}

/// Runs the independent checker (DTD validation, then pywbem parsing every object); returns
/// its last line, `N passed, M failed`, and its exit status.
func checkCIMXML(_ file: URL) async throws -> (summary: String, status: Int32, output: String) {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let python = "/opt/cimxml-venv/bin/python"
    guard FileManager.default.isExecutableFile(atPath: python) else {
        Issue.record("\(python) is missing: run `bash .ci/run` (it creates the venv with pywbem)")
        return ("", -1, "")
    }
    let result = try await runProgram(
        python, [root.appendingPathComponent("Tests/crosscheck/cim-xml/check_cimxml.py").path, file.path], mergeStreams: true)
    let output = result.standardOutput
    let last = output.split(separator: "\n").last.map(String.init) ?? ""
    return (last, result.status, output)
}

func temporaryFile(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("cimdb-export-\(UUID().uuidString)-\(name)")
}

@Suite struct CIMXMLExportTests {
    @Test func aFleetInventoryPassesTheCheckerWithEveryInstance() async throws {
        let pool = try await fleetInventory(nodes: 3, seed: 4)
        defer { Task { await pool.close() } }
        let file = temporaryFile("fleet.xml")
        defer { try? FileManager.default.removeItem(at: file) }
        let (summary, total, associations) = try await pool.withConnection { c in
            let catalog = try ModelCatalog.load(from: c)
            let summary = try CIMXMLExporter(catalog: catalog, options: .init(associations: true, host: "cmdb.example.com")).export(
                to: file.path, on: c)
            let total = try c.execute("SELECT count(*) FROM cimdb.instance").first?.int(0) ?? -1
            let associations =
                try c.execute(
                    "SELECT count(*) FROM cimdb.instance i JOIN cimdb.model_class m ON m.class_key = lower(i.class_name) WHERE m.is_association"
                ).first?.int(0) ?? -1
            return (summary, total, associations)
        }
        #expect(summary.instances == total && summary.associations == associations && associations > 0)
        let check = try await checkCIMXML(file)
        #expect(check.status == 0, "\(check.output.suffix(2000))")
        #expect(check.summary == "\(total) passed, 0 failed", "\(check.output.suffix(2000))")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.components(separatedBy: "<VALUE.OBJECTWITHPATH>").count - 1 == total)
        #expect(text.contains("<PROPERTY.REFERENCE NAME=\"GroupComponent\""))
        #expect(text.contains("<KEYVALUE VALUETYPE=\"string\" TYPE=\"string\">CIM_ComputerSystem</KEYVALUE>"))
    }

    @Test func filtersByClassAndNode() async throws {
        let pool = try await fleetInventory(nodes: 2, seed: 8)
        defer { Task { await pool.close() } }
        let file = temporaryFile("filtered.xml")
        defer { try? FileManager.default.removeItem(at: file) }
        try await pool.withConnection { c in
            let catalog = try ModelCatalog.load(from: c)
            let devices = try CIMXMLExporter(catalog: catalog, options: .init(className: "CIM_LogicalDevice", host: "h")).export(to: file.path, on: c)
            #expect(devices.instances == (try c.execute("SELECT count(*) FROM CIM_LogicalDevice").first?.int(0)))
            #expect(devices.associations == 0)
            // A class and the associations that refer to its instances (one CIM_SystemDevice per
            // processor in the fleet), not every association of the inventory.
            let processors = try c.execute("SELECT count(*) FROM CIM_Processor").first?.int(0) ?? -1
            let withTheirs = try CIMXMLExporter(catalog: catalog, options: .init(className: "CIM_Processor", associations: true, host: "h")).export(
                to: file.path, on: c)
            #expect(withTheirs.associations == processors)
            #expect(withTheirs.instances == 2 * processors)
            // An association class named by the filter is written without --associations.
            let systemDevices = try CIMXMLExporter(catalog: catalog, options: .init(className: "CIM_SystemDevice", host: "h")).export(
                to: file.path, on: c)
            #expect(systemDevices.associations == (try c.execute("SELECT count(*) FROM CIM_SystemDevice").first?.int(0)))
            #expect(systemDevices.associations > processors)  // ports too
            #expect(systemDevices.instances == systemDevices.associations)
            let node = FleetNode.name(1)
            let one = try CIMXMLExporter(catalog: catalog, options: .init(node: node, associations: true, host: "h")).export(to: file.path, on: c)
            #expect(one.instances == (try c.execute("SELECT count(*) FROM cimdb.instance_source WHERE node = \(node)").first?.int(0)))
            #expect(!(try String(contentsOf: file, encoding: .utf8)).contains(FleetNode.name(0)))
            #expect(throws: ExportError.self) {
                try CIMXMLExporter(catalog: catalog, options: .init(className: "CIM_Nothing", host: "h")).export(to: file.path, on: c)
            }
            #expect(throws: ExportError.self) {
                try CIMXMLExporter(catalog: catalog, options: .init(node: "nowhere", host: "h")).export(to: file.path, on: c)
            }
        }
        #expect(try await checkCIMXML(file).status == 0)
    }

    /// NULLs, arrays with NULL entries, datetimes, markup and characters XML cannot hold.
    @Test func aFullDiskIsAClearError() async throws {
        let pool = try await fleetInventory(nodes: 2, seed: 4)
        defer { Task { await pool.close() } }
        let error = try await pool.withConnection { c in
            let catalog = try ModelCatalog.load(from: c)
            return #expect(throws: ExportError.self) {
                try CIMXMLExporter(catalog: catalog, options: .init(associations: true, host: "h")).export(to: "/dev/full", on: c)
            }
        }
        #expect(error?.description == "cannot write /dev/full: No space left on device")
    }

    @Test func valuesAreEncodedPerDSP0201() async throws {
        let pool = ConnectionPool(conninfo: try await TestDatabases.installed(), size: 1)
        defer { Task { await pool.close() } }
        let file = temporaryFile("values.xml"), declarations = temporaryFile("declarations.xml")
        defer { for f in [file, declarations] { try? FileManager.default.removeItem(at: f) } }
        let summary = try await pool.withConnection { c in
            let catalog = try ModelCatalog.load(from: c)
            let store = InstanceStore(catalog: catalog)
            _ = try store.add(
                className: "CIM_ComputerSystem",
                values: [
                    ("Name", .string("srv <1> & \u{1}co")), ("InstallDate", .datetime("20240315103000.000000+060")),
                ], on: c)
            _ = try store.add(
                className: "CIM_EthernetPort",
                values: [
                    ("SystemCreationClassName", .string("CIM_ComputerSystem")), ("SystemName", .string("srv")), ("DeviceID", .string("eth0")),
                    ("NetworkAddresses", .array([.string("001B21AABBCC"), .null])), ("FullDuplex", .boolean(true)),
                    ("Speed", .unsigned(10_000_000_000)),
                ], on: c)
            // An embedded instance (EmbeddedInstance qualifier) as CIM-XML, and one that is not.
            let port = [("SystemCreationClassName", Value.string("CIM_ComputerSystem")), ("SystemName", .string("srv"))]
            _ = try store.add(
                className: "CIM_EthernetPort", values: port + [("DeviceID", .string("eth1")), ("AllocationState", .string(Self.embeddedInstance))],
                on: c)
            _ = try store.add(
                className: "CIM_EthernetPort",
                values: port + [("DeviceID", .string("eth2")), ("AllocationState", .string("instance of CIM_SettingData { InstanceID = \"x\"; };"))],
                on: c)
            var options = CIMXMLExporter.Options(host: "h")
            options.model = try ModelSourceStore.model(from: c)
            // The class declarations say so too.
            var declared = CIMXMLExporter.Options(className: "CIM_EthernetPort", host: "h")
            declared.model = options.model
            declared.classDeclarations = true
            _ = try CIMXMLExporter(catalog: catalog, options: declared).export(to: declarations.path, on: c)
            return try CIMXMLExporter(catalog: catalog, options: options).export(to: file.path, on: c)
        }
        let declaration = try String(contentsOf: declarations, encoding: .utf8)
        #expect(
            declaration.contains(
                #"<PROPERTY NAME="AllocationState" TYPE="string" EmbeddedObject="instance" CLASSORIGIN="CIM_AllocatedLogicalElement""#))
        #expect(try await checkCIMXML(declarations).status == 0)
        #expect(summary.instances == 4)
        #expect(summary.droppedCharacters == 2)  // in the key binding and in the property
        #expect(summary.plainEmbeddedValues == 1)
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.contains("<VALUE>srv &lt;1&gt; &amp; co</VALUE>"))
        #expect(text.contains("<VALUE>20240315103000.000000+060</VALUE>"))
        #expect(text.contains("<VALUE.NULL/>"))
        #expect(text.contains("<PROPERTY NAME=\"Caption\" TYPE=\"string\"/>"))
        #expect(text.contains("<VALUE>true</VALUE>"))
        // DSP0201: the embedded INSTANCE as the text of the value, marked EmbeddedObject="instance".
        #expect(
            text.contains(
                #"<PROPERTY NAME="AllocationState" TYPE="string" EmbeddedObject="instance"><VALUE>&lt;INSTANCE CLASSNAME=&quot;CIM_ResourceAllocationSettingData&quot;&gt;&lt;PROPERTY NAME=&quot;ElementName&quot; TYPE=&quot;string&quot;&gt;&lt;VALUE&gt;NIC 2 (R&amp;amp;D)&lt;/VALUE&gt;"#
            ))
        #expect(text.contains(#"<PROPERTY NAME="AllocationState" TYPE="string"><VALUE>instance of CIM_SettingData"#))
        #expect(text.contains(#"<PROPERTY NAME="AllocationState" TYPE="string" EmbeddedObject="instance"/>"#))  // NULL
        let check = try await checkCIMXML(file)
        #expect(check.summary == "4 passed, 0 failed", "\(check.output)")
        #expect(check.output.contains("(1 embedded)"), "pywbem parsed the embedded instance: \(check.output)")
    }

    static let embeddedInstance =
        #"<INSTANCE CLASSNAME="CIM_ResourceAllocationSettingData"><PROPERTY NAME="ElementName" TYPE="string"><VALUE>NIC 2 (R&amp;D)</VALUE></PROPERTY><PROPERTY NAME="ResourceType" TYPE="uint16"><VALUE>10</VALUE></PROPERTY></INSTANCE>"#
}
