import Fleet
import Foundation
import Inventory
import SQLCore
import Store
import Testing

/// Every query of `sql/examples.sql`, run against a generated fleet's inventory (two rounds: the
/// second changed about 10 % of the values), and its answer checked against the fleet itself,
/// computed here without SQL.
@Suite struct ExampleQueryTests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("sql/examples.sql")

    /// The examples by name, in file order.
    static func examples() throws -> [(name: String, sql: String)] {
        var examples: [(name: String, sql: String)] = []
        for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("-- @example ") {
                examples.append((String(line.dropFirst("-- @example ".count)).trimmingCharacters(in: .whitespaces), ""))
            } else if !examples.isEmpty, !line.hasPrefix("--") {
                examples[examples.count - 1].sql += line + "\n"
            }
        }
        return examples
    }

    typealias Rows = [[String?]]

    /// The expected answer of each example, from the fleet as it is after round 1.
    static func expected(_ name: String, before: [FleetNode], after nodes: [FleetNode]) -> Rows? {
        func objects(_ settings: String) -> [(node: FleetNode, object: FleetNode.Object)] {
            nodes.flatMap { node in (node.objects[settings] ?? []).map { (node, $0) } }
        }
        func text(_ object: FleetNode.Object, _ property: String) -> String? {
            if case .value(let t)? = object.values[property] { return t }
            return nil
        }
        func memory(_ node: FleetNode) -> Decimal { node.sum("PhysicalMemory", "Capacity") ?? 0 }
        func fastest(_ node: FleetNode) -> Int64 { node.texts("EthernetPort", "Speed").compactMap { $0.flatMap { Int64($0) } }.max() ?? 0 }
        func grouped(_ values: [String], sum: ((String) -> Decimal)? = nil) -> Rows {
            Dictionary(grouping: values, by: { $0 }).keys.sorted().map { key in [key, String(values.filter { $0 == key }.count)] }
        }
        switch name {
        case "small-memory-fast-network":
            return nodes.filter { memory($0) < 64 * 1_073_741_824 && fastest($0) >= 10_000_000_000 }.map { [$0.name] }
        case "many-cpus":
            return nodes.filter { $0.objects["Processor"]!.count >= 32 }.map { [$0.name, String($0.objects["Processor"]!.count)] }
        case "cpus-per-model":
            return grouped(objects("Processor").compactMap { text($0.object, "Description") })
        case "most-memory":
            return nodes.sorted { memory($0) != memory($1) ? memory($0) > memory($1) : $0.name < $1.name }.prefix(3).map { [$0.name] }
        case "slow-clocks":
            return nodes.filter { $0.texts("Processor", "CurrentClockSpeed").contains { Int($0 ?? "") ?? .max < 1500 } }.map { [$0.name] }
        case "nearly-full-file-systems":
            return objects("FileSystem").filter { pair in
                guard let size = text(pair.object, "FileSystemSize").flatMap({ Decimal(string: $0) }),
                    let free = text(pair.object, "AvailableSpace").flatMap({ Decimal(string: $0) })
                else { return false }
                return free < size / 10
            }.map { [$0.node.name, $0.object.keys["Name"], text($0.object, "FileSystemType")] }
                .sorted { ($0[0]!, $0[1]!) < ($1[0]!, $1[1]!) }
        case "nfs-clients":
            return nodes.filter { $0.texts("FileSystem", "FileSystemType").contains("nfs4") }.map { [$0.name] }
        case "storage-per-type":
            let all = objects("FileSystem")
            return Set(all.compactMap { text($0.object, "FileSystemType") }).sorted().map { type in
                let sizes = all.filter { text($0.object, "FileSystemType") == type }.compactMap {
                    text($0.object, "FileSystemSize").flatMap { Decimal(string: $0) }
                }
                return [type, String(sizes.count), "\(sizes.reduce(0, +))"]
            }
        case "ports-per-type":
            let names = ["53": "1000BaseT", "55": "10GBaseT", "56": "10GBase-CX4"]
            return grouped(objects("EthernetPort").compactMap { text($0.object, "PortType").flatMap { names[$0] } })
        case "half-duplex-ports":
            return objects("EthernetPort").filter { text($0.object, "FullDuplex") == "false" }
                .map { [$0.node.name, $0.object.keys["DeviceID"]] }.sorted { ($0[0]!, $0[1]!) < ($1[0]!, $1[1]!) }
        case "bonded-ports":
            return objects("EthernetPort").compactMap { pair -> [String?]? in
                let macs = text(pair.object, "NetworkAddresses")?.split(separator: "\u{1F}").count ?? 0
                return macs > 1 ? [pair.node.name, pair.object.keys["DeviceID"], String(macs)] : nil
            }.sorted { ($0[0]!, $0[1]!) < ($1[0]!, $1[1]!) }
        case "no-ipv6":
            return nodes.filter { $0.texts("IPProtocolEndpoint", "IPv6Address").contains { ($0 ?? "").isEmpty } }.map { [$0.name] }
        case "addresses-in-subnet":
            return objects("IPProtocolEndpoint").compactMap { pair -> [String?]? in
                guard let address = text(pair.object, "IPv4Address"), let second = Int(address.split(separator: ".")[1]), second < 128 else {
                    return nil
                }
                return [pair.node.name, pair.object.keys["Name"], address]
            }.sorted { ($0[0]!, $0[1]!) < ($1[0]!, $1[1]!) }
        case "kernels":
            return grouped(nodes.compactMap { $0.texts("ComputerSystem", "Caption")[0].flatMap { $0.split(separator: " ").last.map(String.init) } })
        case "mainboard-vendors":
            return grouped(objects("Mainboard").compactMap { text($0.object, "Manufacturer") })
        case "devices-per-class":
            let cpus = objects("Processor").count, ports = objects("EthernetPort").count
            return [
                ["CIM_EthernetPort", String(ports)], ["CIM_LogicalDevice", String(cpus + ports)], ["CIM_NetworkPort", String(ports)],
                ["CIM_Processor", String(cpus)],
            ]
        case "stale-nodes":
            return []
        default:
            return nil  // checked separately
        }
    }

    @Test func everyExampleAnswersWhatTheFleetSays() async throws {
        let examples = try Self.examples()
        #expect(examples.count >= 15)
        #expect(Set(examples.map(\.name)).count == examples.count, "example names are unique")
        let (pool, fleet) = try await fleetDatabase(nodes: 8, seed: 17, rounds: 2)
        defer { Task { await pool.close() } }
        let before = (0..<fleet.size).map { fleet.node($0) }
        let after = (0..<fleet.size).map { fleet.node($0, round: 1) }
        let answers = try await pool.withConnection { c in
            try examples.map { example in
                let result = try c.execute(.verbatim(example.sql))  // sql/examples.sql
                return (example.name, result.map { row in result.columns.indices.map { row.string($0) } })
            }
        }
        for (name, rows) in answers {
            if name == "changes-on-a-node" {
                // One event per value that differs between the rounds, except AvailableSpace
                // (severity none): counted per (instance, property).
                var changes = 0
                for (settings, objects) in before[1].objects {
                    for (old, new) in zip(objects, after[1].objects[settings]!) {
                        changes += old.values.keys.filter { $0 != "AvailableSpace" && old.values[$0] != new.values[$0] }.count
                    }
                }
                #expect(rows.count == changes, "\(name)")
                #expect(rows.allSatisfy { $0[2]?.contains("\"*\"") == false && $0[3] != nil })
                continue
            }
            let expected = try #require(Self.expected(name, before: before, after: after), "no expectation for example \(name)")
            #expect(rows == expected, "example \(name)")
        }
        // The answers are not trivially empty: the fleet was chosen so that most are not.
        #expect(answers.filter { !$0.1.isEmpty }.count >= 14)
    }
}
