import CIM
import Foundation
public import Inventory
import ModelStore
import ORM
import SQLCore
public import Store

/// The inventory configuration in the database: read it, compare it with a desired one, and
/// apply the difference in one transaction.
public enum ConfigurationStore {
    /// The configuration as the database holds it.
    public static func load(from connection: Connection) throws -> InventoryConfiguration {
        var scripts: [String: Script] = [:]
        for row in try connection.execute("SELECT hash, content FROM cimdb.script") {
            if let hash = row["hash"], let bytes = row.bytes("content") { scripts[hash] = Script(bytes) }
        }
        func script(_ hash: String?) -> Script? { hash.flatMap { scripts[$0] } }
        var properties: [String: [PropertyDefinition]] = [:]
        for row in try connection.execute(
            """
            SELECT settings, property_name, update_script, update_period_ms, update_timeout_ms, changed_severity
            FROM cimdb.inventory_property ORDER BY settings, property_name
            """)
        {
            guard let settings = row["settings"], let name = row["property_name"], let update = script(row["update_script"]) else { continue }
            properties[settings, default: []].append(
                PropertyDefinition(
                    name: name, updateScript: update, periodMilliseconds: row.int64("update_period_ms") ?? 0,
                    timeoutMilliseconds: row.int64("update_timeout_ms") ?? 0,
                    changedSeverity: Severity(rawValue: row["changed_severity"] ?? "") ?? .info))
        }
        var configuration = InventoryConfiguration()
        for row in try connection.execute(
            """
            SELECT id, class_name, parent, key_property_order, discovery_script, association_script, created_severity, deleted_severity
            FROM cimdb.inventory_settings ORDER BY id
            """)
        {
            guard let id = row["id"], let cls = row["class_name"], let discovery = script(row["discovery_script"]) else { continue }
            configuration.settings.append(
                SettingsDefinition(
                    id: id, className: cls, parent: row["parent"], keyPropertyOrder: (row.stringArray("key_property_order") ?? []).compactMap { $0 },
                    discoveryScript: discovery, associationScript: script(row["association_script"]),
                    createdSeverity: Severity(rawValue: row["created_severity"] ?? "") ?? .info,
                    deletedSeverity: Severity(rawValue: row["deleted_severity"] ?? "") ?? .warning,
                    properties: properties[id] ?? []))
        }
        for row in try connection.execute("SELECT name, period_ms, timeout_ms, settings, targets FROM cimdb.discovery_monitor ORDER BY name") {
            guard let name = row["name"] else { continue }
            configuration.monitors.append(
                MonitorDefinition(
                    name: name, periodMilliseconds: row.int64("period_ms") ?? 0, timeoutMilliseconds: row.int64("timeout_ms") ?? 0,
                    settings: (row.stringArray("settings") ?? []).compactMap { $0 }, targets: (row.stringArray("targets") ?? []).compactMap { $0 }))
        }
        return configuration
    }

    /// Applies `desired` as the whole configuration: what it does not declare is removed.
    /// Returns the changes (empty when the database already matches).
    @discardableResult
    public static func apply(_ desired: InventoryConfiguration, on connection: Connection) throws -> ConfigurationDiff {
        try connection.transaction { connection in
            let current = try load(from: connection)
            let diff = ConfigurationDiff(from: current, to: desired)
            guard !diff.isEmpty else { return diff }
            try connection.execute("SET CONSTRAINTS ALL DEFERRED")
            for script in desired.allScripts {
                try connection.execute(
                    "INSERT INTO cimdb.script (hash, content) VALUES (\(script.hash), \(Bytea(script.content))) ON CONFLICT (hash) DO NOTHING")
            }
            let keep = desired.monitors.map(\.name)
            try connection.execute("DELETE FROM cimdb.discovery_monitor WHERE NOT (name = ANY(\(keep)))")
            try connection.execute("DELETE FROM cimdb.inventory_settings WHERE NOT (id = ANY(\(desired.settings.map(\.id))))")
            for s in desired.settings {
                try connection.execute(
                    """
                    INSERT INTO cimdb.inventory_settings (id, class_name, parent, key_property_order, discovery_script, association_script, created_severity, deleted_severity)
                    VALUES (\(s.id), \(s.className), \(s.parent), \(s.keyPropertyOrder), \(s.discoveryScript.hash), \(s.associationScript?.hash), \(s.createdSeverity.rawValue), \(s.deletedSeverity.rawValue))
                    ON CONFLICT (id) DO UPDATE SET class_name = \(s.className), parent = \(s.parent), key_property_order = \(s.keyPropertyOrder), discovery_script = \(s.discoveryScript.hash),
                        association_script = \(s.associationScript?.hash), created_severity = \(s.createdSeverity.rawValue), deleted_severity = \(s.deletedSeverity.rawValue), updated_at = now()
                    WHERE (inventory_settings.class_name, inventory_settings.parent, inventory_settings.key_property_order,
                           inventory_settings.discovery_script, inventory_settings.association_script,
                           inventory_settings.created_severity, inventory_settings.deleted_severity)
                          IS DISTINCT FROM (\(s.className), \(s.parent), \(s.keyPropertyOrder), \(s.discoveryScript.hash), \(s.associationScript?.hash), \(s.createdSeverity.rawValue)::cimdb.severity, \(s.deletedSeverity.rawValue)::cimdb.severity)
                    """)
                try connection.execute(
                    "DELETE FROM cimdb.inventory_property WHERE settings = \(s.id) AND NOT (property_name = ANY(\(s.properties.map(\.name))))")
                for p in s.properties {
                    try connection.execute(
                        """
                        INSERT INTO cimdb.inventory_property (settings, property_name, update_script, update_period_ms, update_timeout_ms, changed_severity)
                        VALUES (\(s.id), \(p.name), \(p.updateScript.hash), \(p.periodMilliseconds), \(p.timeoutMilliseconds), \(p.changedSeverity.rawValue))
                        ON CONFLICT (settings, property_name) DO UPDATE SET update_script = \(p.updateScript.hash), update_period_ms = \(p.periodMilliseconds),
                            update_timeout_ms = \(p.timeoutMilliseconds), changed_severity = \(p.changedSeverity.rawValue), updated_at = now()
                        WHERE (inventory_property.update_script, inventory_property.update_period_ms, inventory_property.update_timeout_ms,
                               inventory_property.changed_severity) IS DISTINCT FROM (\(p.updateScript.hash), \(p.periodMilliseconds)::bigint, \(p.timeoutMilliseconds)::bigint, \(p.changedSeverity.rawValue)::cimdb.severity)
                        """)
                }
            }
            // A monitor is (re)deployed when it is new, changed, or runs settings that changed:
            // its snapshot then takes the settings as they are now.
            for m in desired.monitors where diff.redeployedMonitors.contains(m.name) {
                try connection.execute(
                    """
                    INSERT INTO cimdb.discovery_monitor (name, period_ms, timeout_ms, settings, targets, snapshot)
                    VALUES (\(m.name), \(m.periodMilliseconds), \(m.timeoutMilliseconds), \(m.settings), \(m.targets), \(MonitorSnapshot(m, in: desired).json)::jsonb)
                    ON CONFLICT (name) DO UPDATE SET period_ms = \(m.periodMilliseconds), timeout_ms = \(m.timeoutMilliseconds), settings = \(m.settings), targets = \(m.targets), snapshot = \(MonitorSnapshot(m, in: desired).json)::jsonb, deployed_at = now()
                    """)
            }
            try connection.execute("SET CONSTRAINTS ALL IMMEDIATE")
            return diff
        }
    }
}

extension InventoryConfiguration {
    var allScripts: [Script] {
        var seen: Set<String> = []
        var out: [Script] = []
        for s in settings {
            for script in [s.discoveryScript] + (s.associationScript.map { [$0] } ?? []) + s.properties.map(\.updateScript)
            where seen.insert(script.hash).inserted {
                out.append(script)
            }
        }
        return out
    }
}
