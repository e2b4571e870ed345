import CIM

/// What applying a configuration changes, line by line: `+` added, `~` changed, `-` removed.
public struct ConfigurationDiff: Sendable, CustomStringConvertible {
    public var lines: [String] = []
    /// Monitors deployed anew: new, changed, or running settings that changed.
    public var redeployedMonitors: Set<String> = []

    public var isEmpty: Bool { lines.isEmpty }
    public var description: String { lines.isEmpty ? "no changes" : lines.joined(separator: "\n") }

    public init(from current: InventoryConfiguration, to desired: InventoryConfiguration) {
        var changedSettings: Set<String> = []
        for s in desired.settings {
            guard let old = current.settings(s.id) else {
                lines.append("+ settings \(s.id) (\(s.className), \(s.properties.count) propert\(s.properties.count == 1 ? "y" : "ies"))")
                changedSettings.insert(s.id)
                for p in s.properties { lines.append("+ property \(s.id).\(p.name)" + Self.schedule(p)) }
                continue
            }
            var changes: [String] = []
            if old.className != s.className { changes.append("class \(old.className) → \(s.className)") }
            if old.parent != s.parent { changes.append("parent \(old.parent ?? "none") → \(s.parent ?? "none")") }
            if old.keyPropertyOrder != s.keyPropertyOrder {
                changes.append("keyPropertyOrder \(old.keyPropertyOrder.joined(separator: ",")) → \(s.keyPropertyOrder.joined(separator: ","))")
            }
            if old.discoveryScript != s.discoveryScript {
                changes.append("discoveryScript \(Self.short(old.discoveryScript)) → \(Self.short(s.discoveryScript))")
            }
            if old.associationScript != s.associationScript {
                changes.append(
                    "associationScript \(old.associationScript.map(Self.short) ?? "none") → \(s.associationScript.map(Self.short) ?? "none")")
            }
            if old.createdSeverity != s.createdSeverity {
                changes.append("created severity \(old.createdSeverity.rawValue) → \(s.createdSeverity.rawValue)")
            }
            if old.deletedSeverity != s.deletedSeverity {
                changes.append("deleted severity \(old.deletedSeverity.rawValue) → \(s.deletedSeverity.rawValue)")
            }
            if !changes.isEmpty {
                lines.append("~ settings \(s.id): " + changes.joined(separator: "; "))
                changedSettings.insert(s.id)
            }
            for p in s.properties {
                guard let was = old.property(named: p.name) else {
                    lines.append("+ property \(s.id).\(p.name)" + Self.schedule(p))
                    continue
                }
                var pc: [String] = []
                if was.updateScript != p.updateScript { pc.append("updateScript \(Self.short(was.updateScript)) → \(Self.short(p.updateScript))") }
                if was.periodMilliseconds != p.periodMilliseconds {
                    pc.append("period \(Self.duration(was.periodMilliseconds)) → \(Self.duration(p.periodMilliseconds))")
                }
                if was.timeoutMilliseconds != p.timeoutMilliseconds {
                    pc.append("timeout \(Self.duration(was.timeoutMilliseconds)) → \(Self.duration(p.timeoutMilliseconds))")
                }
                if was.changedSeverity != p.changedSeverity { pc.append("severity \(was.changedSeverity.rawValue) → \(p.changedSeverity.rawValue)") }
                if !pc.isEmpty {
                    lines.append("~ property \(s.id).\(p.name): " + pc.joined(separator: "; ") + " (update monitors deployed from now on)")
                }
            }
            for p in old.properties where s.property(named: p.name) == nil {
                lines.append("- property \(s.id).\(p.name) (and its update monitors on every node)")
            }
        }
        for s in current.settings where desired.settings(s.id) == nil {
            lines.append("- settings \(s.id) (and its update monitors on every node)")
            changedSettings.insert(s.id)
        }
        for m in desired.monitors {
            guard let old = current.monitor(m.name) else {
                lines.append(
                    "+ monitor \(m.name) (\(m.settings.count) settings every \(Self.duration(m.periodMilliseconds)), on \(m.targets.joined(separator: ", ")))"
                )
                redeployedMonitors.insert(m.name)
                continue
            }
            var changes: [String] = []
            if old.periodMilliseconds != m.periodMilliseconds {
                changes.append("period \(Self.duration(old.periodMilliseconds)) → \(Self.duration(m.periodMilliseconds))")
            }
            if old.timeoutMilliseconds != m.timeoutMilliseconds {
                changes.append("timeout \(Self.duration(old.timeoutMilliseconds)) → \(Self.duration(m.timeoutMilliseconds))")
            }
            if old.settings != m.settings { changes.append("settings \(old.settings.joined(separator: ",")) → \(m.settings.joined(separator: ","))") }
            if old.targets != m.targets { changes.append("targets \(old.targets.joined(separator: ",")) → \(m.targets.joined(separator: ","))") }
            let stale = m.settings.filter(changedSettings.contains)
            if !stale.isEmpty { changes.append("redeployed for changed settings \(stale.joined(separator: ", "))") }
            if !changes.isEmpty {
                lines.append("~ monitor \(m.name): " + changes.joined(separator: "; "))
                redeployedMonitors.insert(m.name)
            }
        }
        for m in current.monitors where desired.monitor(m.name) == nil {
            lines.append("- monitor \(m.name)")
        }
    }

    static func short(_ script: Script) -> String { "sha256:" + String(script.hash.prefix(12)) }

    static func schedule(_ p: PropertyDefinition) -> String {
        " (every \(duration(p.periodMilliseconds)), timeout \(duration(p.timeoutMilliseconds)))"
    }

    /// A duration as the configuration writes it: `8m`, `30s`, `1500ms`.
    public static func duration(_ ms: Int64) -> String {
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where ms % size == 0 {
            return "\(ms / size)\(unit)"
        }
        return "\(ms)ms"
    }
}
