import CIM
import Foundation

/// The settings a discovery monitor runs, as they were when it was (re)deployed: processing a
/// discovery result uses this, so that editing settings does not change a deployed monitor.
public struct MonitorSnapshot: Sendable, Hashable, Codable {
    public struct Settings: Sendable, Hashable, Codable {
        public var id: String
        public var className: String
        public var parent: String?
        public var keyPropertyOrder: [String]
        public var discoveryScript: String
        public var associationScript: String?
        public var createdSeverity: Severity
        public var deletedSeverity: Severity
    }

    public var monitor: String
    public var settings: [Settings]

    public init(_ monitor: MonitorDefinition, in configuration: InventoryConfiguration) {
        self.monitor = monitor.name
        self.settings = monitor.settings.compactMap { id in
            configuration.settings(id).map { s in
                Settings(
                    id: s.id, className: s.className, parent: s.parent, keyPropertyOrder: s.keyPropertyOrder,
                    discoveryScript: s.discoveryScript.hash, associationScript: s.associationScript?.hash,
                    createdSeverity: s.createdSeverity, deletedSeverity: s.deletedSeverity)
            }
        }
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public static func decode(_ json: String) -> MonitorSnapshot? {
        try? JSONDecoder().decode(MonitorSnapshot.self, from: Data(json.utf8))
    }

    public func settings(_ id: String) -> Settings? { settings.first { $0.id == id } }
}
