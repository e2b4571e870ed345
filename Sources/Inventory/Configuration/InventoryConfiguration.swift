import CIM
import Crypto
import Foundation

/// The severity of an inventory event; `none` means no event.
public enum Severity: String, Sendable, Hashable, CaseIterable, Codable {
    case none, info, notice, warning, error, critical
}

/// A script as configured: its bytes (text with a shebang, or a binary) and the SHA-256 that
/// names it in the database and in agents' caches.
public struct Script: Sendable, Hashable {
    public var content: [UInt8]

    public init(_ content: [UInt8]) { self.content = content }
    public init(text: String) { self.content = Array(text.utf8) }

    /// Lower-case hex SHA-256 of the content.
    public var hash: String { Digest.sha256(content) }

    /// Whether the content is text (UTF-8 without NUL), as opposed to a binary.
    public var isText: Bool { !content.contains(0) && String(validating: content, as: UTF8.self) != nil }
}

/// SHA-256 in lower-case hex: script hashes, output digests, request signatures and tokens.
public enum Digest {
    public static func sha256(_ bytes: some Sequence<UInt8>) -> String {
        hex(SHA256.hash(data: Array(bytes)))
    }

    /// Whether `text` is exactly `length` lower-case hex digits (a SHA-256 is 64, a nonce 32).
    public static func isHex(_ text: some StringProtocol, length: Int) -> Bool {
        text.utf8.count == length && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// Bytes as lower-case hex digits.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// An inventory property: how one non-key property of a settings object's class is updated.
public struct PropertyDefinition: Sendable, Hashable {
    public var name: String
    public var updateScript: Script
    public var periodMilliseconds: Int64
    public var timeoutMilliseconds: Int64
    public var changedSeverity: Severity

    public init(name: String, updateScript: Script, periodMilliseconds: Int64, timeoutMilliseconds: Int64, changedSeverity: Severity = .info) {
        self.name = name
        self.updateScript = updateScript
        self.periodMilliseconds = periodMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
        self.changedSeverity = changedSeverity
    }
}

/// Inventory settings (SPEC §3): how the objects a discovery script reports on a node become
/// instances of one class, and how their properties are updated.
public struct SettingsDefinition: Sendable, Hashable {
    /// InstanceID: an identifier without whitespace.
    public var id: String
    public var className: String
    /// ParentSettingInstanceID: when the parent found nothing on a node, this one is skipped there.
    public var parent: String?
    /// The key properties in the order the script prints them.
    public var keyPropertyOrder: [String]
    public var discoveryScript: Script
    public var associationScript: Script?
    public var createdSeverity: Severity
    public var deletedSeverity: Severity
    public var properties: [PropertyDefinition]

    public init(
        id: String, className: String, parent: String? = nil, keyPropertyOrder: [String], discoveryScript: Script,
        associationScript: Script? = nil, createdSeverity: Severity = .info, deletedSeverity: Severity = .warning,
        properties: [PropertyDefinition] = []
    ) {
        self.id = id
        self.className = className
        self.parent = parent
        self.keyPropertyOrder = keyPropertyOrder
        self.discoveryScript = discoveryScript
        self.associationScript = associationScript
        self.createdSeverity = createdSeverity
        self.deletedSeverity = deletedSeverity
        self.properties = properties
    }

    public func property(named name: String) -> PropertyDefinition? {
        properties.first { sameName($0.name, name) }
    }
}

/// A discovery monitor: which settings run, how often, with what timeout, on which nodes.
public struct MonitorDefinition: Sendable, Hashable {
    public var name: String
    public var periodMilliseconds: Int64
    public var timeoutMilliseconds: Int64
    /// Settings ids, run in this order.
    public var settings: [String]
    /// Node names, node group names, or `*` for every node.
    public var targets: [String]

    public init(name: String, periodMilliseconds: Int64, timeoutMilliseconds: Int64, settings: [String], targets: [String] = ["*"]) {
        self.name = name
        self.periodMilliseconds = periodMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
        self.settings = settings
        self.targets = targets
    }
}

/// The whole inventory configuration: what `cimdb inventory apply FILE` declares and what the
/// database holds.
public struct InventoryConfiguration: Sendable, Hashable {
    public var settings: [SettingsDefinition]
    public var monitors: [MonitorDefinition]

    public init(settings: [SettingsDefinition] = [], monitors: [MonitorDefinition] = []) {
        self.settings = settings
        self.monitors = monitors
    }

    public func settings(_ id: String) -> SettingsDefinition? { settings.first { $0.id == id } }
    public func monitor(_ name: String) -> MonitorDefinition? { monitors.first { $0.name == name } }
}
