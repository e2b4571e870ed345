import CIM
import Foundation
import Yams

/// Reads the declarative inventory configuration (`cimdb inventory apply FILE`):
///
/// ```yaml
/// settings:
///   Processor:
///     class: CIM_Processor
///     keyPropertyOrder: [CreationClassName, DeviceID, SystemCreationClassName, SystemName]
///     discoveryScript: linux/processor.sh      # a path, relative to this file
///     associationScript: linux/processor-system.sh
///     parent: ComputerSystem                   # optional
///     severity: {created: info, deleted: warning}
///     properties:
///       CurrentClockSpeed: {updateScript: linux/processor.sh, period: 8m, timeout: 30s, severity: info}
/// monitors:
///   default: {period: 12m, timeout: 2m, settings: [ComputerSystem, Processor], targets: ["*"]}
/// ```
///
/// A script is a path (relative to the file), a string starting with `#!` (the script itself),
/// or `{inline: …}`, `{path: …}`, `{base64: …}` (a binary). Durations are milliseconds, or a
/// number with `ms`, `s`, `m`, `h` or `d`. Every problem is reported with its line and column.
public struct ConfigurationFile {
    public var file: String
    public var baseDirectory: String
    public var readFile: (String) -> [UInt8]?
    var errors: [ConfigurationError] = []
    /// Where each element was declared, for validation messages: `settings ID`,
    /// `settings ID property NAME`, `monitor NAME` → line and column.
    public private(set) var locations: [String: (line: Int, column: Int)] = [:]

    public init(file: String, baseDirectory: String? = nil, readFile: @escaping (String) -> [UInt8]? = ConfigurationFile.readFromDisk) {
        self.file = file
        self.baseDirectory = baseDirectory ?? (file as NSString).deletingLastPathComponent
        self.readFile = readFile
    }

    public static func readFromDisk(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    /// Reads and parses the file at `path` (its scripts relative to its directory).
    public static func load(_ path: String) throws(ConfigurationErrors) -> InventoryConfiguration {
        guard let bytes = readFromDisk(path), let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationErrors([ConfigurationError(file: path, "cannot read the file (or it is not UTF-8)")])
        }
        var reader = ConfigurationFile(file: path)
        return try reader.parse(text)
    }

    /// Parses YAML text; throws every problem at once.
    public mutating func parse(_ yaml: String) throws(ConfigurationErrors) -> InventoryConfiguration {
        errors = []
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigurationErrors([yamlError(error)])
        } catch {
            throw ConfigurationErrors([ConfigurationError(file: file, "\(error)")])
        }
        var configuration = InventoryConfiguration()
        guard let root, let top = mapping(root, "the configuration") else {
            if root == nil { error(nil, "the configuration is empty: expected `settings:` and `monitors:`") }
            throw ConfigurationErrors(errors)
        }
        for (key, value) in entries(top, allowed: ["settings", "monitors"], what: "the configuration") {
            switch key {
            case "settings":
                guard let items = mapping(value, "settings") else { continue }
                for (id, node) in entries(items, allowed: nil, what: "settings") {
                    if let s = settings(id: id, node) { configuration.settings.append(s) }
                }
            default:
                guard let items = mapping(value, "monitors") else { continue }
                for (name, node) in entries(items, allowed: nil, what: "monitors") {
                    if let m = monitor(name: name, node) { configuration.monitors.append(m) }
                }
            }
        }
        if !errors.isEmpty { throw ConfigurationErrors(sorted(errors)) }
        return configuration
    }

    // MARK: Elements

    mutating func settings(id: String, _ node: Node) -> SettingsDefinition? {
        let what = "settings \(id)"
        note(what, node)
        guard let fields = mapping(node, what) else { return nil }
        var values: [String: Node] = [:]
        for (key, value) in entries(
            fields, allowed: ["class", "keyPropertyOrder", "discoveryScript", "associationScript", "parent", "severity", "properties"], what: what)
        {
            values[key] = value
        }
        // Every field is read (and its problems reported) before a missing one ends the element.
        let className = require(values["class"], "class", in: what, at: node).flatMap { string($0, "\(what): class") }
        let order = require(values["keyPropertyOrder"], "keyPropertyOrder", in: what, at: node).flatMap { strings($0, "\(what): keyPropertyOrder") }
        let discovery = require(values["discoveryScript"], "discoveryScript", in: what, at: node).flatMap { script($0, "\(what): discoveryScript") }
        let association = values["associationScript"].flatMap { script($0, "\(what): associationScript") }
        let parent = values["parent"].flatMap { string($0, "\(what): parent") }
        var created = Severity.info, deleted = Severity.warning
        if let n = values["severity"], let m = mapping(n, "\(what): severity") {
            for (key, value) in entries(m, allowed: ["created", "deleted"], what: "\(what): severity") {
                guard let s = severity(value, "\(what): severity \(key)") else { continue }
                if key == "created" { created = s } else { deleted = s }
            }
        }
        var properties: [PropertyDefinition] = []
        if let n = values["properties"], let m = mapping(n, "\(what): properties") {
            for (name, value) in entries(m, allowed: nil, what: "\(what): properties") {
                if let p = property(name: name, value, in: what) { properties.append(p) }
            }
        }
        guard let className, let order, let discovery else { return nil }
        return SettingsDefinition(
            id: id, className: className, parent: parent, keyPropertyOrder: order, discoveryScript: discovery,
            associationScript: association, createdSeverity: created, deletedSeverity: deleted, properties: properties)
    }

    mutating func property(name: String, _ node: Node, in settings: String) -> PropertyDefinition? {
        let what = "\(settings): property \(name)"
        note("\(settings) property \(name)", node)
        guard let fields = mapping(node, what) else { return nil }
        var values: [String: Node] = [:]
        for (key, value) in entries(fields, allowed: ["updateScript", "period", "timeout", "severity"], what: what) { values[key] = value }
        let update = require(values["updateScript"], "updateScript", in: what, at: node).flatMap { script($0, "\(what): updateScript") }
        let period = require(values["period"], "period", in: what, at: node).flatMap { duration($0, "\(what): period") }
        let timeout = require(values["timeout"], "timeout", in: what, at: node).flatMap { duration($0, "\(what): timeout") }
        let changed = values["severity"].flatMap { severity($0, "\(what): severity") } ?? .info
        guard let update, let period, let timeout else { return nil }
        return PropertyDefinition(
            name: name, updateScript: update, periodMilliseconds: period, timeoutMilliseconds: timeout, changedSeverity: changed)
    }

    mutating func monitor(name: String, _ node: Node) -> MonitorDefinition? {
        let what = "monitor \(name)"
        note(what, node)
        guard let fields = mapping(node, what) else { return nil }
        var values: [String: Node] = [:]
        for (key, value) in entries(fields, allowed: ["period", "timeout", "settings", "targets"], what: what) { values[key] = value }
        let period = require(values["period"], "period", in: what, at: node).flatMap { duration($0, "\(what): period") }
        let timeout = require(values["timeout"], "timeout", in: what, at: node).flatMap { duration($0, "\(what): timeout") }
        let settings = require(values["settings"], "settings", in: what, at: node).flatMap { strings($0, "\(what): settings") }
        let targets = values["targets"].flatMap { strings($0, "\(what): targets") } ?? ["*"]
        guard let period, let timeout, let settings else { return nil }
        return MonitorDefinition(name: name, periodMilliseconds: period, timeoutMilliseconds: timeout, settings: settings, targets: targets)
    }
}

// MARK: Node helpers

extension ConfigurationFile {
    /// Errors in file order.
    func sorted(_ errors: [ConfigurationError]) -> [ConfigurationError] {
        errors.enumerated().sorted { a, b in
            let ka = (a.element.line ?? 0, a.element.column ?? 0, a.offset), kb = (b.element.line ?? 0, b.element.column ?? 0, b.offset)
            return ka < kb
        }.map(\.element)
    }

    mutating func note(_ key: String, _ node: Node) {
        if let mark = node.mark { locations[key] = (mark.line, mark.column) }
    }

    mutating func error(_ node: Node?, _ message: String) {
        errors.append(ConfigurationError(file: file, line: node?.mark?.line, column: node?.mark?.column, message))
    }

    func yamlError(_ error: YamlError) -> ConfigurationError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ConfigurationError(file: file, line: mark.line, column: mark.column, "invalid YAML: \(problem)")
        default:
            return ConfigurationError(file: file, "invalid YAML: \(error)")
        }
    }

    mutating func mapping(_ node: Node, _ what: String) -> Node.Mapping? {
        guard let m = node.mapping else {
            error(node, "\(what) must be a mapping (key: value lines)")
            return nil
        }
        return m
    }

    /// The string keys of a mapping with their values; unknown keys (when `allowed` is given)
    /// and repeated keys are errors.
    mutating func entries(_ mapping: Node.Mapping, allowed: Set<String>?, what: String) -> [(String, Node)] {
        var seen: Set<String> = []
        var result: [(String, Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                error(keyNode, "\(what): keys must be plain names")
                continue
            }
            if !seen.insert(key).inserted {
                error(keyNode, "\(what): \(key) appears twice")
                continue
            }
            if let allowed, !allowed.contains(key) {
                error(keyNode, "\(what): unknown key \(key) (expected \(allowed.sorted().joined(separator: ", ")))")
                continue
            }
            result.append((key, value))
        }
        return result
    }

    mutating func require(_ node: Node?, _ key: String, in what: String, at parent: Node) -> Node? {
        if node == nil { error(parent, "\(what): \(key) is missing") }
        return node
    }

    mutating func string(_ node: Node, _ what: String) -> String? {
        guard let s = node.scalar?.string else {
            error(node, "\(what) must be a single value")
            return nil
        }
        return s
    }

    mutating func strings(_ node: Node, _ what: String) -> [String]? {
        if let s = node.scalar?.string { return [s] }
        guard let sequence = node.sequence else {
            error(node, "\(what) must be a list, e.g. [a, b]")
            return nil
        }
        var out: [String] = []
        for item in sequence {
            guard let s = item.scalar?.string else {
                error(item, "\(what): every entry must be a single value")
                return nil
            }
            out.append(s)
        }
        return out
    }

    mutating func severity(_ node: Node, _ what: String) -> Severity? {
        guard let s = string(node, what) else { return nil }
        guard let severity = Severity(rawValue: s.lowercased()) else {
            error(node, "\(what): unknown severity \(s) (expected \(Severity.allCases.map(\.rawValue).joined(separator: ", ")))")
            return nil
        }
        return severity
    }

    /// Milliseconds, or a number with a unit: `500ms`, `30s`, `8m`, `2h`, `1d`.
    mutating func duration(_ node: Node, _ what: String) -> Int64? {
        guard let text = string(node, what) else { return nil }
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        var number = text.trimmingCharacters(in: .whitespaces)
        var factor = 1.0
        for (unit, f) in units where number.hasSuffix(unit) && Double(number.dropLast(unit.count)) != nil {
            number = String(number.dropLast(unit.count))
            factor = f
            break
        }
        guard let value = Double(number), value.isFinite else {
            error(node, "\(what): \(text) is not a duration (milliseconds, or e.g. 30s, 8m, 2h)")
            return nil
        }
        let milliseconds = Int64((value * factor).rounded())
        guard milliseconds > 0 else {
            error(node, "\(what) must be positive, found \(text)")
            return nil
        }
        return milliseconds
    }

    /// A path, `#!…` text, or `{inline:}`, `{path:}`, `{base64:}`.
    mutating func script(_ node: Node, _ what: String) -> Script? {
        if let text = node.scalar?.string {
            if text.hasPrefix("#!") { return Script(text: text) }
            return scriptFile(text, node, what)
        }
        guard let m = mapping(node, what) else { return nil }
        let fields = entries(m, allowed: ["inline", "path", "base64"], what: what)
        guard fields.count == 1, let (kind, value) = fields.first, let text = string(value, "\(what): \(fields.first?.0 ?? "")") else {
            error(node, "\(what): give exactly one of inline, path, base64")
            return nil
        }
        switch kind {
        case "inline": return Script(text: text)
        case "path": return scriptFile(text, value, what)
        default:
            guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
                error(value, "\(what): not valid base64")
                return nil
            }
            return Script([UInt8](data))
        }
    }

    mutating func scriptFile(_ path: String, _ node: Node, _ what: String) -> Script? {
        let full = path.hasPrefix("/") || baseDirectory.isEmpty ? path : baseDirectory + "/" + path
        guard let bytes = readFile(full) else {
            error(node, "\(what): cannot read the script file \(full)")
            return nil
        }
        return Script(bytes)
    }
}
