import AgentProtocol
import CIM
import Foundation
public import Inventory
import Logging

/// `cimdb agent --once --print`: runs a configuration's discovery (and optionally update)
/// scripts on this node without any server and shows what would be sent, readably, with every
/// line checked against the wire format — the tool a script author debugs with.
public struct LocalRun: Sendable {
    public var configuration: InventoryConfiguration
    public var node: String
    public var stateDirectory: String
    public var maximumOutputBytes: Int

    public init(configuration: InventoryConfiguration, node: String, stateDirectory: String, maximumOutputBytes: Int = 16 << 20) {
        self.configuration = configuration
        self.node = node
        self.stateDirectory = stateDirectory
        self.maximumOutputBytes = maximumOutputBytes
    }

    public struct Report: Sendable {
        public var discovery: [DiscoveryResult]
        public var updates: [UpdateResult]
        /// Scripts that failed, and lines the server would reject (wire format: field counts,
        /// escapes, instance paths).
        public var problems: Int
        public var text: String
    }

    public func run(updates: Bool) async throws -> Report {
        let state = try await AgentState.open(directory: stateDirectory)
        try await state.writeAtomically(Helpers.script, to: state.helpersPath)
        // Problems of the state directory go to stderr, whatever logging was set up: the report goes to stdout.
        let logger = Logger(label: "cimdb.agent") { StreamLogHandler.standardError(label: $0) }
        let scripts = ScriptCache(directory: state.scriptsDirectory, queue: state.queue, logger: logger) { _ in nil }
        for settings in configuration.settings {
            try await scripts.store(settings.discoveryScript.content)
            if let association = settings.associationScript { try await scripts.store(association.content) }
            for property in settings.properties { try await scripts.store(property.updateScript.content) }
        }
        let runs = MonitorRuns(node: node, state: state, runner: ScriptRunner(maximumOutputBytes: maximumOutputBytes), logger: logger)
        let assignments = Assignments(local: configuration)
        var report = Report(discovery: [], updates: [], problems: 0, text: "")
        var out = ""
        for monitor in assignments.discovery {
            let result = await runs.discovery(monitor, scripts: scripts)
            report.discovery.append(result)
            out +=
                "discovery monitor \(monitor.monitor) on node \(node): \(result.settings.count) settings, \(result.startedAt) – \(result.finishedAt)\n"
            for run in result.settings {
                guard let settings = monitor.settings.first(where: { $0.id == run.id }) else { continue }
                out += describe(run, settings: settings, problems: &report.problems)
            }
        }
        if updates {
            for monitor in assignments.updates {
                let result = await runs.update(monitor, scripts: scripts)
                report.updates.append(result)
                let keys = configuration.settings(monitor.settings)?.keyPropertyOrder ?? []
                out += describe(result, keys: keys, problems: &report.problems)
            }
        }
        out +=
            report.problems == 0
            ? "\nno problems: the server would accept these results\n"
            : "\n\(report.problems) problem(s): failed scripts and lines the server would reject are marked above\n"
        report.text = out
        return report
    }

    private func describe(_ run: DiscoveryResult.SettingsRun, settings: MonitorSnapshot.Settings, problems: inout Int) -> String {
        var out = "\n\(settings.id) (\(settings.className)): "
        switch run.status {
        case .skipped: return out + "skipped (parent \(settings.parent ?? "?") found nothing)\n"
        case .failed:
            problems += 1
            out += "FAILED: \(run.failure ?? "")\n"
            if let stderr = run.stderr, !stderr.isEmpty { out += indent("stderr: " + String(decoding: stderr, as: UTF8.self)) }
            return out
        case .ok: break
        }
        let (lines, errors) = ScriptOutput.parse(run.discovery, fields: settings.keyPropertyOrder.count)
        out += "\(lines.count) instance(s)\n"
        for line in lines {
            out += "  " + zip(settings.keyPropertyOrder, line.fields).map { "\($0)=\(show($1))" }.joined(separator: "  ") + "\n"
        }
        for error in errors {
            problems += 1
            out += "  ERROR discovery output \(error)\n"
        }
        if let associations = run.associations {
            let text = String(decoding: associations, as: UTF8.self)
            let paths = text.split(separator: "\n", omittingEmptySubsequences: true)
            out += "  associations: \(paths.count)\n"
            for (number, path) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !path.isEmpty {
                do {
                    _ = try InstancePath.parse(String(path))
                    out += "    \(path)\n"
                } catch {
                    problems += 1
                    out += "    ERROR association output line \(number + 1): \(error)\n      \(path)\n"
                }
            }
        }
        if let stderr = run.stderr, !stderr.isEmpty { out += indent("stderr: " + String(decoding: stderr, as: UTF8.self)) }
        return out
    }

    private func describe(_ result: UpdateResult, keys: [String], problems: inout Int) -> String {
        var out = "\nupdate \(result.settings).\(result.property): "
        if result.status != .ok {
            problems += 1
            out += "FAILED: \(result.failure ?? "")\n"
            if let stderr = result.stderr, !stderr.isEmpty { out += indent("stderr: " + String(decoding: stderr, as: UTF8.self)) }
            return out
        }
        let (lines, errors) = ScriptOutput.parse(result.output, fields: keys.count + 1)
        out += "\(lines.count) value(s)\n"
        for line in lines {
            let key = zip(keys, line.fields).map { "\($0)=\(show($1))" }.joined(separator: " ")
            out += "  \(key)  →  \(result.property)=\(line.fields.last.map(show) ?? "")\n"
        }
        for error in errors {
            problems += 1
            out += "  ERROR update output \(error)\n"
        }
        return out
    }

    private func show(_ field: OutputField) -> String {
        switch field {
        case .empty: return "(empty)"
        case .value(let text):
            let entries = field.entries
            if entries.count > 1 { return "[" + entries.map(show).joined(separator: ", ") + "]" }
            return "\"" + text.replacingOccurrences(of: "\n", with: "\\n") + "\""
        }
    }

    private func indent(_ text: String) -> String {
        text.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") + "\n"
    }
}
