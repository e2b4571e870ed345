public import Foundation
public import Inventory

/// A synthetic fleet of Linux nodes for benchmarks and tests: node `i` is always the same for
/// the same seed, and its discovery and update results are exactly what the default scripts
/// would send (SPEC §4 formats, keys in each settings object's KeyPropertyOrder).
public struct Fleet: Sendable {
    public var size: Int
    public var seed: UInt64
    /// The configuration the outputs follow: key orders, association scripts, the updated
    /// properties. Its settings must be among `FleetNode.settingsIDs`.
    public var configuration: InventoryConfiguration
    /// The discovery monitor whose results are produced.
    public var monitor: String

    public init(size: Int, seed: UInt64 = 1, configuration: InventoryConfiguration, monitor: String = "default") {
        self.size = size
        self.seed = seed
        self.configuration = configuration
        self.monitor = monitor
    }

    /// The default configuration with one more updated property, `FileSystem.AvailableSpace`
    /// (period 2 minutes, severity none: free space changes all the time): the 23 updated
    /// properties of the benchmark.
    public static func benchmarkConfiguration() throws -> InventoryConfiguration {
        var configuration = try DefaultConfiguration.load()
        if let i = configuration.settings.firstIndex(where: { $0.id == "FileSystem" }) {
            let size = configuration.settings[i].properties.first { $0.name == "FileSystemSize" }!
            configuration.settings[i].properties.append(
                PropertyDefinition(
                    name: "AvailableSpace", updateScript: size.updateScript, periodMilliseconds: 120_000, timeoutMilliseconds: 30_000,
                    changedSeverity: .none))
        }
        return configuration
    }

    public func node(_ index: Int) -> FleetNode { FleetNode(index: index, seed: seed) }

    /// The node as it is in `round` (0: as generated; later rounds change `fraction` of its values).
    public func node(_ index: Int, round: Int, fraction: Double = 0.1) -> FleetNode {
        node(index).changed(fraction: fraction, round: round, seed: seed)
    }

    /// The (settings, property) pairs the configuration updates, in configuration order.
    public var updatedProperties: [(settings: String, property: String)] {
        configuration.settings.flatMap { s in s.properties.map { (s.id, $0.name) } }
    }

    /// The node's discovery result for the monitor: every settings object's discovery output
    /// (and association output, if it has an association script).
    public func discoveryResult(_ node: FleetNode, sequence: Int64, at time: Date = Date()) -> DiscoveryResult {
        let stamp = Envelope.timestamp(time)
        let ids = configuration.monitor(monitor)?.settings ?? []
        let runs = ids.compactMap { id -> DiscoveryResult.SettingsRun? in
            guard let settings = configuration.settings(id) else { return nil }
            var discovery: [UInt8] = []
            for object in node.objects[id] ?? [] {
                discovery += ScriptOutput.encodeLine(settings.keyPropertyOrder.map { .value(Self.key($0, of: object)) })
            }
            var associations: [UInt8]?
            if settings.associationScript != nil {
                associations = (node.associations[id] ?? []).flatMap { Array($0.utf8) + [0x0A] }
            }
            return DiscoveryResult.SettingsRun(id: id, status: .ok, discovery: discovery, associations: associations, exitCode: 0)
        }
        return DiscoveryResult(node: node.name, monitor: monitor, sequence: sequence, startedAt: stamp, finishedAt: stamp, settings: runs)
    }

    /// The node's update results, one per updated property.
    public func updateResults(_ node: FleetNode, sequence: Int64, at time: Date = Date()) -> [UpdateResult] {
        let stamp = Envelope.timestamp(time)
        return configuration.settings.flatMap { settings in
            settings.properties.map { property in
                var output: [UInt8] = []
                for object in node.objects[settings.id] ?? [] {
                    let value = object.values[property.name] ?? .empty
                    output += ScriptOutput.encodeLine(settings.keyPropertyOrder.map { .value(Self.key($0, of: object)) } + [value])
                }
                return UpdateResult(
                    node: node.name, settings: settings.id, property: property.name, sequence: sequence,
                    startedAt: stamp, finishedAt: stamp, status: .ok, output: output, exitCode: 0)
            }
        }
    }

    static func key(_ name: String, of object: FleetNode.Object) -> String {
        object.keys[name] ?? object.keys.first { $0.key.lowercased() == name.lowercased() }?.value ?? ""
    }
}
