import Inventory

/// Plausible property values for the synthetic fleet, as the default Linux scripts print them
/// (numbers in decimal, booleans `true`/`false`, MAC addresses as 12 hex digits, arrays
/// US-separated). ValueMap codes are ones the default model's classes define.
enum FleetValues {
    /// Every updatable property the generator knows, per settings id: the 22 of the default
    /// configuration plus `FileSystem.AvailableSpace`.
    static let properties: [String: [String]] = [
        "ComputerSystem": ["Caption"],
        "Processor": ["CurrentClockSpeed", "Family", "Description", "Stepping", "AddressWidth"],
        "PhysicalMemory": ["Capacity", "MemoryType", "FormFactor"],
        "Mainboard": ["HostingBoard", "Model", "Manufacturer"],
        "FileSystem": ["FileSystemType", "FileSystemSize", "AvailableSpace"],
        "EthernetPort": ["NetworkAddresses", "PortType", "FullDuplex", "Speed"],
        "IPProtocolEndpoint": ["IPv4Address", "IPv6Address", "ProtocolIFType", "SubnetMask"],
    ]

    static func initial(for settings: String, using rng: inout SplitMix64) -> [String: OutputField] {
        var values: [String: OutputField] = [:]
        for property in properties[settings] ?? [] { values[property] = value(settings, property, using: &rng) }
        return values
    }

    static func clockSpeed(using rng: inout SplitMix64) -> OutputField {
        .value(String(Int.random(in: 12...38, using: &rng) * 100))
    }

    static func mountPoints(_ count: Int) -> [String] {
        let fixed = ["/", "/boot", "/home", "/var", "/tmp", "/opt", "/var/log", "/srv"]
        return (0..<count).map { $0 < fixed.count ? fixed[$0] : "/scratch/\($0 - fixed.count)" }
    }

    static let processorModels = [
        ("Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", "179", "7"),
        ("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", "179", "6"),
        ("AMD EPYC 7763 64-Core Processor", "131", "1"),
        ("AMD EPYC 9654 96-Core Processor", "131", "1"),
    ]
    static let boards = [("X11DPi-N", "Supermicro"), ("PowerEdge R650 0Y2G81", "Dell Inc."), ("ProLiant DL360 Gen10", "HPE")]
    static let kernels = ["6.1.0-18-amd64", "6.1.0-21-amd64", "6.1.0-25-amd64", "5.10.0-28-amd64"]

    static func value(_ settings: String, _ property: String, using rng: inout SplitMix64) -> OutputField {
        func number(_ range: ClosedRange<UInt64>) -> OutputField { .value(String(UInt64.random(in: range, using: &rng))) }
        func pick(_ choices: [String]) -> OutputField { .value(choices.randomElement(using: &rng)!) }
        func hex(_ digits: Int) -> String {
            (0..<digits).map { _ in String(Int.random(in: 0..<16, using: &rng), radix: 16, uppercase: true) }.joined()
        }
        switch (settings, property) {
        case ("ComputerSystem", "Caption"): return .value("Debian GNU/Linux 12 (bookworm) \(kernels.randomElement(using: &rng)!)")
        case ("Processor", "CurrentClockSpeed"): return clockSpeed(using: &rng)
        case ("Processor", "Family"): return .value(processorModels.randomElement(using: &rng)!.1)
        case ("Processor", "Description"): return .value(processorModels.randomElement(using: &rng)!.0)
        case ("Processor", "Stepping"): return .value(String(Int.random(in: 1...9, using: &rng)))
        case ("Processor", "AddressWidth"): return pick(["64", "48"])
        case ("PhysicalMemory", "Capacity"): return .value(String(UInt64(1) << UInt64.random(in: 33...36, using: &rng)))
        case ("PhysicalMemory", "MemoryType"): return pick(["24", "25", "26"])
        case ("PhysicalMemory", "FormFactor"): return pick(["8", "13"])  // DIMM, SODIMM
        case ("Mainboard", "HostingBoard"): return pick(["true", "false"])
        case ("Mainboard", "Model"): return .value(boards.randomElement(using: &rng)!.0)
        case ("Mainboard", "Manufacturer"): return .value(boards.randomElement(using: &rng)!.1)
        case ("FileSystem", "FileSystemType"): return pick(["ext4", "xfs", "btrfs", "nfs4", "tmpfs"])
        case ("FileSystem", "FileSystemSize"): return number(1 << 30...1 << 42)
        case ("FileSystem", "AvailableSpace"): return number(0...1 << 40)
        case ("EthernetPort", "NetworkAddresses"):
            // Mostly one MAC; bonded ports list a second one (an array of two entries).
            let macs = (0..<(Int.random(in: 0..<8, using: &rng) == 0 ? 2 : 1)).map { _ in OutputField.value(hex(12)) }
            return ScriptOutput.encodeArray(macs)
        case ("EthernetPort", "PortType"): return pick(["53", "55", "56"])  // 1000BaseT, 10GBaseT, 10GBase-CX4
        case ("EthernetPort", "FullDuplex"): return pick(["true", "false"])
        case ("EthernetPort", "Speed"): return pick(["1000000000", "10000000000", "25000000000"])
        case ("IPProtocolEndpoint", "IPv4Address"):
            return .value(
                "10.\(Int.random(in: 0 ... 255, using: &rng)).\(Int.random(in: 0 ... 255, using: &rng)).\(Int.random(in: 1 ... 254, using: &rng))")
        case ("IPProtocolEndpoint", "IPv6Address"):
            // Not every port has a global IPv6 address: GS, the empty string.
            return Int.random(in: 0..<4, using: &rng) == 0 ? .empty : .value("fd00::\(hex(4).lowercased()):\(hex(4).lowercased())")
        case ("IPProtocolEndpoint", "ProtocolIFType"): return pick(["4096", "4098"])
        case ("IPProtocolEndpoint", "SubnetMask"): return pick(["255.255.0.0", "255.255.255.0", "255.255.252.0"])
        default: preconditionFailure("the fleet generator has no values for \(settings).\(property)")
        }
    }

    /// A new value for the property, different from `old`.
    static func different(from old: OutputField, settings: String, property: String, using rng: inout SplitMix64) -> OutputField {
        for _ in 0..<8 {
            let candidate = value(settings, property, using: &rng)
            if candidate != old { return candidate }
        }
        // Few choices and unlucky draws: derive one that must differ.
        switch old {
        case .value("true"): return .value("false")
        case .value("false"): return .value("true")
        case .value(let text) where UInt64(text) != nil: return .value(String(UInt64(text)! &+ 1))
        case .value(let text): return .value(text + "+")
        case .empty: return .value("changed")
        }
    }
}
