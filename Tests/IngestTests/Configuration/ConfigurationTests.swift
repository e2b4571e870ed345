import CIM
import Foundation
import Ingest
import Inventory
import ModelStore
import ORM
import SQLCore
import Store
import Testing

/// The declarative configuration: the default file, YAML and validation errors with their
/// place, and `apply` showing and applying exactly the difference.
@Suite struct ConfigurationTests {
    func parse(_ yaml: String, files: [String: String] = [:]) throws(ConfigurationErrors) -> (InventoryConfiguration, ConfigurationFile) {
        var reader = ConfigurationFile(file: "site.yaml", baseDirectory: "conf", readFile: { files[$0].map { Array($0.utf8) } })
        let configuration = try reader.parse(yaml)
        return (configuration, reader)
    }

    func errors(_ yaml: String, files: [String: String] = [:]) -> [String] {
        do {
            _ = try parse(yaml, files: files)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func theDefaultConfigurationHasTheFixedNames() throws {
        let configuration = try DefaultConfiguration.load()
        #expect(
            configuration.settings.map(\.id) == [
                "ComputerSystem", "Processor", "PhysicalMemory", "Mainboard", "FileSystem", "EthernetPort", "IPProtocolEndpoint",
            ])
        #expect(configuration.settings.first { $0.id == "Mainboard" }?.className == "CIM_Card")
        #expect(configuration.monitors.map(\.name) == ["default"])
        #expect(configuration.settings.reduce(0) { $0 + $1.properties.count } == 22)
        #expect(
            configuration.settings.first { $0.id == "FileSystem" }?.keyPropertyOrder == [
                "CreationClassName", "CSCreationClassName", "CSName", "Name",
            ])
        for s in configuration.settings {
            #expect(s.createdSeverity == .info && s.deletedSeverity == .warning)
            #expect(s.properties.allSatisfy { $0.changedSeverity == .info })
            // KeyPropertyOrder is the keys in alphabetical order, compared case-insensitively.
            #expect(s.keyPropertyOrder == s.keyPropertyOrder.sorted { $0.lowercased() < $1.lowercased() })
        }
        let properties = Set(configuration.settings.flatMap { s in s.properties.map { "\(s.className).\($0.name)" } })
        #expect(
            properties == [
                "CIM_ComputerSystem.Caption", "CIM_Processor.CurrentClockSpeed", "CIM_Processor.Family", "CIM_Processor.Description",
                "CIM_Processor.Stepping", "CIM_Processor.AddressWidth", "CIM_Card.HostingBoard", "CIM_Card.Model", "CIM_Card.Manufacturer",
                "CIM_PhysicalMemory.Capacity", "CIM_PhysicalMemory.MemoryType", "CIM_PhysicalMemory.FormFactor", "CIM_FileSystem.FileSystemType",
                "CIM_FileSystem.FileSystemSize", "CIM_EthernetPort.NetworkAddresses", "CIM_EthernetPort.PortType", "CIM_EthernetPort.FullDuplex",
                "CIM_EthernetPort.Speed", "CIM_IPProtocolEndpoint.IPv4Address", "CIM_IPProtocolEndpoint.IPv6Address",
                "CIM_IPProtocolEndpoint.ProtocolIFType", "CIM_IPProtocolEndpoint.SubnetMask",
            ])
    }

    @Test func scriptsInlinePathOrBase64AndDurations() throws {
        let (configuration, _) = try parse(
            """
            settings:
              Racks:
                class: CIM_ComputerSystem
                keyPropertyOrder: [CreationClassName, Name]
                discoveryScript: |
                  #!/bin/sh
                  echo hi
                associationScript: {base64: "AAEC/w=="}
                properties:
                  Caption: {updateScript: {path: caption.sh}, period: 1500, timeout: 2.5s, severity: WARNING}
            monitors:
              quick: {period: 1h, timeout: 1d, settings: Racks, targets: [rack-nodes, n7]}
            """, files: ["conf/caption.sh": "#!/bin/sh\nexit 0\n"])
        let racks = try #require(configuration.settings.first)
        #expect(racks.discoveryScript.content == Array("#!/bin/sh\necho hi\n".utf8))
        #expect(racks.associationScript?.content == [0, 1, 2, 255])
        #expect(racks.associationScript?.isText == false)
        let caption = try #require(racks.properties.first)
        #expect(caption.updateScript.content == Array("#!/bin/sh\nexit 0\n".utf8))
        #expect(caption.periodMilliseconds == 1500 && caption.timeoutMilliseconds == 2500 && caption.changedSeverity == .warning)
        #expect(
            configuration.monitors == [
                MonitorDefinition(
                    name: "quick", periodMilliseconds: 3_600_000, timeoutMilliseconds: 86_400_000, settings: ["Racks"], targets: ["rack-nodes", "n7"])
            ])
    }

    @Test func fileErrorsHaveTheirPlace() {
        #expect(errors("settings: [") == ["site.yaml:2:1: error: invalid YAML: did not find expected node content"])
        #expect(
            errors(
                """
                settings:
                  Racks:
                    class: CIM_ComputerSystem
                    keyPropertyOrdr: [Name]
                    discoveryScript: missing.sh
                    properties:
                      Caption: {updateScript: "#!/bin/sh", period: soon, timeout: -1s, severity: loud}
                monitors:
                  m: {period: 1m, settings: [Racks]}
                extra: 1
                """) == [
                    "site.yaml:3:5: error: settings Racks: keyPropertyOrder is missing",
                    "site.yaml:4:5: error: settings Racks: unknown key keyPropertyOrdr (expected associationScript, class, discoveryScript, keyPropertyOrder, parent, properties, severity)",
                    "site.yaml:5:22: error: settings Racks: discoveryScript: cannot read the script file conf/missing.sh",
                    "site.yaml:7:52: error: settings Racks: property Caption: period: soon is not a duration (milliseconds, or e.g. 30s, 8m, 2h)",
                    "site.yaml:7:67: error: settings Racks: property Caption: timeout must be positive, found -1s",
                    "site.yaml:7:82: error: settings Racks: property Caption: severity: unknown severity loud (expected none, info, notice, warning, error, critical)",
                    "site.yaml:9:6: error: monitor m: timeout is missing",
                    "site.yaml:10:1: error: the configuration: unknown key extra (expected monitors, settings)",
                ])
    }

    @Test func validationErrorsNameWhatIsWrong() async throws {
        let pool = try await inventoryDatabase(configured: false)
        defer { Task { await pool.close() } }
        let catalog = try await pool.withConnection { try ModelCatalog.load(from: $0) }
        let (configuration, reader) = try parse(
            """
            settings:
              Cpus:
                class: CIM_Processor
                keyPropertyOrder: [DeviceID, SystemName, CreationClassName, Name]
                discoveryScript: "#!/bin/sh"
                parent: Loop
                properties:
                  DeviceID: {updateScript: "#!/bin/sh", period: 1m, timeout: 1s}
                  Colour: {updateScript: "#!/bin/sh", period: 1m, timeout: 1s}
              Loop:
                class: CIM_LogicalDevice
                keyPropertyOrder: [CreationClassName, DeviceID, SystemCreationClassName, SystemName]
                discoveryScript: "#!/bin/sh"
                parent: Cpus
              Ghost:
                class: Acme_Ghost
                keyPropertyOrder: [Name]
                discoveryScript: "#!/bin/sh"
            monitors:
              "bad name": {period: 1m, timeout: 1s, settings: [Cpus, Nope], targets: []}
            """)
        let found = configuration.validate(against: catalog, file: "site.yaml") { reader.locations[$0] }.map(\.description)
        #expect(
            found == [
                "site.yaml:3:5: error: settings Cpus: keyPropertyOrder must name exactly the keys of CIM_Processor (SystemCreationClassName, SystemName, CreationClassName, DeviceID); missing SystemCreationClassName; not keys: Name",
                "site.yaml:8:17: error: settings Cpus: CIM_Processor.DeviceID is a key; keys come from the discovery script, not from an update script",
                "site.yaml:9:15: error: settings Cpus: class CIM_Processor has no property Colour",
                "site.yaml:11:5: error: settings Loop: class CIM_LogicalDevice is abstract and cannot have instances",
                "site.yaml:16:5: error: settings Ghost: class Acme_Ghost is not in the installed model",
                "site.yaml:3:5: error: settings Cpus: parents form a cycle (Cpus → Loop → Cpus)",
                "site.yaml:11:5: error: settings Loop: parents form a cycle (Loop → Cpus → Loop)",
                "site.yaml:20:15: error: monitor name 'bad name' must be a name without whitespace",
                "site.yaml:20:15: error: monitor bad name: settings Nope is not declared",
                "site.yaml:20:15: error: monitor bad name has no targets (use * for every node)",
            ])
        #expect(try DefaultConfiguration.load().validate(against: catalog, file: "default").isEmpty)
    }

    @Test func applyShowsAndAppliesExactlyTheDifference() async throws {
        let pool = try await inventoryDatabase(configured: false)
        defer { Task { await pool.close() } }
        try await pool.withConnection { c in
            let original = try DefaultConfiguration.load()
            let first = try ConfigurationStore.apply(original, on: c)
            #expect(first.lines.count == 7 + 22 + 1)
            #expect(try ConfigurationStore.apply(original, on: c).isEmpty)
            #expect(try ConfigurationStore.load(from: c) == normalized(original))
            let deployedAt = try c.execute("SELECT deployed_at FROM cimdb.discovery_monitor").first?["deployed_at"]

            // Nodes get update monitors deployed for Processor.
            try c.discover(
                discovery(
                    "n1",
                    [
                        ("ComputerSystem", Lines.system("n1"), nil),
                        ("Processor", line("CIM_Processor", "cpu0", "CIM_ComputerSystem", "n1"), nil),
                    ]))
            #expect(try c.count("SELECT * FROM cimdb.update_deployment WHERE settings = 'Processor'") == 5)

            var edited = original
            let processor = edited.settings.firstIndex { $0.id == "Processor" }!
            edited.settings[processor].properties[0].periodMilliseconds = 60_000  // CurrentClockSpeed: 8m → 1m
            edited.settings[processor].properties.removeAll { $0.name == "Stepping" }
            edited.settings[processor].properties.append(
                PropertyDefinition(
                    name: "MaxClockSpeed", updateScript: Script(text: "#!/bin/sh\n"), periodMilliseconds: 1000, timeoutMilliseconds: 1000))
            edited.settings[processor].discoveryScript = Script(text: "#!/bin/sh\n# new\n")
            edited.settings.removeAll { $0.id == "IPProtocolEndpoint" }
            edited.monitors[0].settings.removeAll { $0 == "IPProtocolEndpoint" }
            let diff = try ConfigurationStore.apply(edited, on: c)
            #expect(
                diff.lines == [
                    "~ settings Processor: discoveryScript \(ConfigurationDiffShort.of(original.settings[processor].discoveryScript)) → \(ConfigurationDiffShort.of(edited.settings[processor].discoveryScript))",
                    "~ property Processor.CurrentClockSpeed: period 8m → 1m (update monitors deployed from now on)",
                    "+ property Processor.MaxClockSpeed (every 1s, timeout 1s)",
                    "- property Processor.Stepping (and its update monitors on every node)",
                    "- settings IPProtocolEndpoint (and its update monitors on every node)",
                    "~ monitor default: settings ComputerSystem,Processor,PhysicalMemory,Mainboard,FileSystem,EthernetPort,IPProtocolEndpoint → ComputerSystem,Processor,PhysicalMemory,Mainboard,FileSystem,EthernetPort; redeployed for changed settings Processor",
                ])
            #expect(try ConfigurationStore.load(from: c) == normalized(edited))
            #expect(try ConfigurationStore.apply(edited, on: c).isEmpty)
            // Deployed update monitors keep the configuration they were deployed with; the removed
            // property's monitors are gone everywhere.
            #expect(
                try c.execute("SELECT update_period_ms FROM cimdb.update_deployment WHERE property_name = 'CurrentClockSpeed'").first?.int(
                    "update_period_ms") == 480_000)
            #expect(try c.count("SELECT * FROM cimdb.update_deployment WHERE property_name = 'Stepping'") == 0)
            // The monitor was redeployed with the new settings.
            let snapshot = try #require(try c.execute("SELECT snapshot::text AS s, deployed_at FROM cimdb.discovery_monitor").first)
            #expect(snapshot["deployed_at"] != deployedAt)
            #expect(
                MonitorSnapshot.decode(snapshot["s"]!)?.settings(named: "Processor")?.discoveryScript
                    == edited.settings[processor].discoveryScript.hash)
        }
    }

    /// The database returns settings sorted by id and properties by name.
    func normalized(_ c: InventoryConfiguration) -> InventoryConfiguration {
        var out = c
        out.settings.sort { $0.id < $1.id }
        for i in out.settings.indices { out.settings[i].properties.sort { $0.name < $1.name } }
        out.monitors.sort { $0.name < $1.name }
        return out
    }
}

enum ConfigurationDiffShort {
    static func of(_ script: Script) -> String { "sha256:" + String(script.hash.prefix(12)) }
}

extension MonitorSnapshot {
    func settings(named id: String) -> Settings? { settings.first { $0.id == id } }
}
