import CIM
import Inventory
import ORM
import SQLCore

/// What one discovery result asks for, parsed and checked against the model before anything
/// is written: per settings object that ran, the instances and associations the node reports.
struct DiscoveryPlan {
    var result: DiscoveryResult
    var snapshot: MonitorSnapshot
    var runs: [SettingsPlan] = []
    /// Settings whose run failed on the node (timeout, exit code): their instances stay as they are.
    var failed: [String] = []
    var errors: [IngestError] = []

    struct PlannedInstance {
        var path: String
        var keys: [(PropertyMapping, Value)]
        var line: Int
    }

    struct PlannedAssociation {
        var cls: ClassMapping
        var path: String
        var keys: [(PropertyMapping, Value)]
        var line: Int
    }

    struct SettingsPlan {
        var settings: MonitorSnapshot.Settings
        var cls: ClassMapping
        var digest: String
        /// The parent found nothing: this settings object reports nothing (its scripts did not run).
        var skipped: Bool
        var instances: [PlannedInstance] = []
        var associations: [PlannedAssociation] = []
        /// Unchanged since the last applied run (same digest): nothing to do.
        var unchanged = false
    }

    /// The digest recorded in `cimdb.discovery_state`: of a run's raw outputs and of what
    /// decides how they are read (the class and the key order), so that redeploying a monitor
    /// with other settings makes the next output count as changed. Lengths delimit the parts.
    static func digest(_ settings: MonitorSnapshot.Settings, _ run: DiscoveryResult.SettingsRun?) -> String {
        var bytes = Array("\(settings.className)\u{0}\(settings.keyPropertyOrder.joined(separator: ","))\u{0}".utf8)
        guard let run else { return Digest.sha256(bytes + Array("skipped".utf8)) }
        bytes += Array("\(run.discovery.count)\u{0}".utf8) + run.discovery
        if let associations = run.associations { bytes += Array("\(associations.count)\u{0}".utf8) + associations }
        return Digest.sha256(bytes)
    }

    /// Parses and checks a result. `applied` gives the digest and instance count last applied
    /// per settings id (the runs whose outputs did not change are not parsed again).
    init(
        _ result: DiscoveryResult, snapshot: MonitorSnapshot, catalog: ModelCatalog, applied: [String: (digest: String, count: Int)],
        maximumOutputBytes: Int = DiscoveryProcessor.defaultMaximumOutputBytes
    ) {
        self.result = result
        self.snapshot = snapshot
        let place = IngestError(node: result.node, monitor: result.monitor, "")
        var seen: Set<String> = []
        for run in result.settings {
            if snapshot.settings(run.id) == nil { errors.append(place.with("settings \(run.id) is not run by monitor \(result.monitor)")) }
            if !seen.insert(run.id).inserted { errors.append(place.with("settings \(run.id) appears twice")) }
        }
        var reportedCount: [String: Int] = [:]
        var skippedIDs: Set<String> = []
        for settings in snapshot.settings {
            let run = result.settings.first { $0.id == settings.id }
            let where_ = IngestError(node: result.node, monitor: result.monitor, settings: settings.id, "")
            guard let cls = catalog.class(named: settings.className) else {
                if run != nil { errors.append(where_.with("class \(settings.className) is not in the installed model")) }
                continue
            }
            // Parent/child: a parent that found nothing skips its children.
            var skipped = run?.status == .skipped
            if let parent = settings.parent, snapshot.settings(parent) != nil {
                if skippedIDs.contains(parent) || reportedCount[parent] == 0 { skipped = true }
            }
            if skipped {
                if let run, run.status == .ok, !run.discovery.allSatisfy({ $0 == 0x0A }) {
                    errors.append(
                        where_.with(
                            "the parent \(settings.parent ?? "") found no instances, so this settings object is skipped, but its output reports instances"
                        ))
                }
                skippedIDs.insert(settings.id)
                reportedCount[settings.id] = 0
                runs.append(
                    SettingsPlan(
                        settings: settings, cls: cls, digest: Self.digest(settings, nil), skipped: true,
                        unchanged: applied[settings.id]?.digest == Self.digest(settings, nil)))
                continue
            }
            guard let run else { continue }  // not run: its instances stay
            for (name, output) in [("discovery", run.discovery), ("association", run.associations ?? [])] where output.count > maximumOutputBytes {
                errors.append(where_.with("the \(name) output is \(output.count) bytes, over the cap of \(maximumOutputBytes)"))
            }
            if run.status == .failed {
                failed.append(settings.id)
                continue
            }
            var plan = SettingsPlan(settings: settings, cls: cls, digest: Self.digest(settings, run), skipped: false)
            if let last = applied[settings.id], last.digest == plan.digest {
                plan.unchanged = true
                reportedCount[settings.id] = last.count
                runs.append(plan)
                continue
            }
            parseInstances(run, into: &plan, catalog: catalog, where: where_)
            parseAssociations(run, into: &plan, catalog: catalog, where: where_)
            reportedCount[settings.id] = plan.instances.count
            runs.append(plan)
        }
    }

    mutating func parseInstances(_ run: DiscoveryResult.SettingsRun, into plan: inout SettingsPlan, catalog: ModelCatalog, where place: IngestError) {
        let order = plan.settings.keyPropertyOrder.map { name in plan.cls.property(named: name) }
        if let missing = zip(plan.settings.keyPropertyOrder, order).first(where: { $0.1 == nil }) {
            errors.append(place.with("KeyPropertyOrder names \(missing.0), which \(plan.cls.name) does not have"))
            return
        }
        let keys = order.compactMap { $0 }
        let (lines, parseErrors) = ScriptOutput.parse(run.discovery, fields: keys.count, meaning: "the key properties in KeyPropertyOrder")
        // Errors in output order: by line, then column.
        var located = parseErrors.map { (line: $0.line, column: $0.column, message: $0.message) }
        var firstLine: [String: Int] = [:]
        for line in lines {
            var values: [(PropertyMapping, Value)] = []
            var ok = true
            for (index, (field, property)) in zip(line.fields, keys).enumerated() {
                do throws(ValueError) {
                    values.append((property, try FieldConversion.key(field, property, className: plan.cls.name)))
                } catch {
                    located.append((line.number, line.fieldColumns[index], error.message))
                    ok = false
                }
            }
            guard ok else { continue }
            let path = FieldConversion.path(plan.cls.name, values.map { ($0.0.name, $0.1) })
            if let first = firstLine[path] {
                located.append((line.number, 1, "the same instance as line \(first) (\(path))"))
                continue
            }
            firstLine[path] = line.number
            plan.instances.append(PlannedInstance(path: path, keys: values, line: line.number))
        }
        for e in located.sorted(by: { ($0.line, $0.column) < ($1.line, $1.column) }) {
            errors.append(place.with(output: .discovery, line: e.line, column: e.column, e.message))
        }
    }

    mutating func parseAssociations(
        _ run: DiscoveryResult.SettingsRun, into plan: inout SettingsPlan, catalog: ModelCatalog, where place: IngestError
    ) {
        guard let output = run.associations, !output.isEmpty else { return }
        var canonicalizer = PathCanonicalizer(catalog: catalog)
        var seen: [String: Int] = [:]
        var lineNumber = 0
        for rawLine in output.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            guard !rawLine.isEmpty else { continue }
            guard let text = String(validating: rawLine, as: UTF8.self) else {
                errors.append(place.with(output: .association, line: lineNumber, column: 1, "not valid UTF-8"))
                continue
            }
            let path: InstancePath
            do throws(InstancePathError) {
                path = try InstancePath.parse(text)
            } catch {
                errors.append(place.with(output: .association, line: lineNumber, column: error.column, error.message))
                continue
            }
            do throws(ValueError) {
                let canonical = try canonicalizer.canonical(path)
                guard canonical.cls.isAssociation else {
                    errors.append(place.with(output: .association, line: lineNumber, column: 1, "\(canonical.cls.name) is not an association class"))
                    continue
                }
                if let first = seen[canonical.path] {
                    errors.append(place.with(output: .association, line: lineNumber, column: 1, "the same association as line \(first)"))
                    continue
                }
                seen[canonical.path] = lineNumber
                plan.associations.append(PlannedAssociation(cls: canonical.cls, path: canonical.path, keys: canonical.keys, line: lineNumber))
            } catch {
                errors.append(place.with(output: .association, line: lineNumber, column: 1, error.message))
            }
        }
    }
}
