public import CIM
public import Inventory

/// One synthetic node: what the default Linux scripts would find on it, per inventory settings
/// object (`ComputerSystem`, `Processor`, …), and the associations between those objects.
///
/// Sizes follow the benchmark's brief: one system, 2–64 processors, 2–16 memory modules, one
/// mainboard, 2–20 file systems, 2–8 Ethernet ports each with an IP endpoint. Physical
/// elements (keyed by Tag alone) carry the host name in their tags, as DMI serials would make
/// them unique across a real cluster.
public struct FleetNode: Sendable, Hashable {
    /// A discovered object: its key values and its updatable property values, as a script
    /// prints them (before escaping).
    public struct Object: Sendable, Hashable {
        public var className: String
        public var keys: [String: String]
        public var values: [String: OutputField]

        /// The object's instance path (keys sorted by name, as the server stores it).
        public var path: InstancePath {
            InstancePath(className: className, keys: keys.sorted { namePrecedes($0.key, $1.key) }.map { ($0.key, Value.string($0.value)) })
        }
    }

    public let index: Int
    /// The host name: `node000042`.
    public let name: String
    /// Objects per settings id.
    public var objects: [String: [Object]] = [:]
    /// Association instance paths per settings id (the settings whose association script
    /// reports them).
    public var associations: [String: [String]] = [:]

    /// The settings ids the generator fills, in the default monitor's order.
    public static let settingsIDs = [
        "ComputerSystem", "Processor", "PhysicalMemory", "Mainboard", "FileSystem", "EthernetPort", "IPProtocolEndpoint",
    ]

    public static func name(_ index: Int) -> String {
        let digits = String(index)
        return "node" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Node `index` of the fleet generated from `seed`.
    public init(index: Int, seed: UInt64) {
        self.index = index
        self.name = Self.name(index)
        var rng = SplitMix64(seed: seed, stream: UInt64(index), 0)
        let host = name
        let system = Object(
            className: "CIM_ComputerSystem",
            keys: ["CreationClassName": "CIM_ComputerSystem", "Name": host],
            values: FleetValues.initial(for: "ComputerSystem", using: &rng))
        objects["ComputerSystem"] = [system]
        let systemPath = system.path
        func deviceKeys(_ cls: String, _ id: String) -> [String: String] {
            ["CreationClassName": cls, "DeviceID": id, "SystemCreationClassName": "CIM_ComputerSystem", "SystemName": host]
        }

        let processorValues = FleetValues.initial(for: "Processor", using: &rng)  // one model per node
        objects["Processor"] = (0..<Int.random(in: 2...64, using: &rng)).map { i in
            var values = processorValues
            values["CurrentClockSpeed"] = FleetValues.clockSpeed(using: &rng)
            return Object(className: "CIM_Processor", keys: deviceKeys("CIM_Processor", "CPU\(i)"), values: values)
        }
        let moduleValues = FleetValues.initial(for: "PhysicalMemory", using: &rng)
        objects["PhysicalMemory"] = (0..<Int.random(in: 2...16, using: &rng)).map { i in
            Object(
                className: "CIM_PhysicalMemory", keys: ["CreationClassName": "CIM_PhysicalMemory", "Tag": "\(host)/DIMM\(i)"], values: moduleValues)
        }
        objects["Mainboard"] = [
            Object(
                className: "CIM_Card", keys: ["CreationClassName": "CIM_Card", "Tag": "\(host)/mainboard"],
                values: FleetValues.initial(for: "Mainboard", using: &rng))
        ]
        let mounts = FleetValues.mountPoints(Int.random(in: 2...20, using: &rng))
        objects["FileSystem"] = mounts.map { mount in
            Object(
                className: "CIM_FileSystem",
                keys: ["CreationClassName": "CIM_FileSystem", "CSCreationClassName": "CIM_ComputerSystem", "CSName": host, "Name": mount],
                values: FleetValues.initial(for: "FileSystem", using: &rng))
        }
        let portCount = Int.random(in: 2...8, using: &rng)
        objects["EthernetPort"] = (0..<portCount).map { i in
            Object(
                className: "CIM_EthernetPort", keys: deviceKeys("CIM_EthernetPort", "eth\(i)"),
                values: FleetValues.initial(for: "EthernetPort", using: &rng))
        }
        objects["IPProtocolEndpoint"] = (0..<portCount).map { i in
            Object(
                className: "CIM_IPProtocolEndpoint",
                keys: [
                    "CreationClassName": "CIM_IPProtocolEndpoint", "Name": "eth\(i)/ip", "SystemCreationClassName": "CIM_ComputerSystem",
                    "SystemName": host,
                ],
                values: FleetValues.initial(for: "IPProtocolEndpoint", using: &rng))
        }

        func association(_ cls: String, _ first: (String, InstancePath), _ second: (String, InstancePath)) -> String {
            InstancePath(className: cls, keys: [(first.0, .reference(first.1.description)), (second.0, .reference(second.1.description))]).description
        }
        associations["Processor"] = objects["Processor", default: []].map {
            association("CIM_SystemDevice", ("GroupComponent", systemPath), ("PartComponent", $0.path))
        }
        associations["PhysicalMemory"] = objects["PhysicalMemory", default: []].map {
            association("CIM_SystemPackaging", ("Antecedent", $0.path), ("Dependent", systemPath))
        }
        associations["Mainboard"] = objects["Mainboard", default: []].map {
            association("CIM_SystemPackaging", ("Antecedent", $0.path), ("Dependent", systemPath))
        }
        associations["FileSystem"] = objects["FileSystem", default: []].map {
            association("CIM_HostedFileSystem", ("GroupComponent", systemPath), ("PartComponent", $0.path))
        }
        associations["EthernetPort"] = objects["EthernetPort", default: []].map {
            association("CIM_SystemDevice", ("GroupComponent", systemPath), ("PartComponent", $0.path))
        }
        let ports = objects["EthernetPort", default: []], endpoints = objects["IPProtocolEndpoint", default: []]
        associations["IPProtocolEndpoint"] = zip(ports, endpoints).map {
            association("CIM_PortImplementsEndpoint", ("Antecedent", $0.path), ("Dependent", $1.path))
        }
    }

    /// How many instances and associations the node reports.
    public var instanceCount: Int { objects.values.reduce(0) { $0 + $1.count } }
    public var associationCount: Int { associations.values.reduce(0) { $0 + $1.count } }

    /// The node after `round` rounds of change: each updatable value changed with probability
    /// `fraction` (a changed value always differs from the one before). Round 0 is the node
    /// as generated; the same seed and round always give the same values.
    public func changed(fraction: Double, round: Int, seed: UInt64) -> FleetNode {
        guard round > 0, fraction > 0 else { return self }
        var node = self
        var rng = SplitMix64(seed: seed, stream: UInt64(index), UInt64(round))
        for settings in Self.settingsIDs {
            guard var list = node.objects[settings] else { continue }
            for i in list.indices {
                for property in list[i].values.keys.sorted() where Double.random(in: 0..<1, using: &rng) < fraction {
                    let old = list[i].values[property]!
                    list[i].values[property] = FleetValues.different(from: old, settings: settings, property: property, using: &rng)
                }
            }
            node.objects[settings] = list
        }
        return node
    }
}
