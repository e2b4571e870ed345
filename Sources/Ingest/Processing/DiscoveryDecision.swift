import CIM
import Inventory
import ORM

/// The decisions of a discovery round, pure: from the results and what the round's queries
/// loaded to the state of each result (accepted with its plan, duplicate, refused) and to the
/// write plan — what to create, attach, detach, deploy and record. `DiscoveryRound` loads,
/// calls these in order, and hands the plan to `DiscoveryWriter`.
enum DiscoveryDecision {
    /// What the first queries of a round found.
    struct Loaded {
        /// The monitors' deployed snapshots, by name.
        var snapshots: [String: MonitorSnapshot] = [:]
        /// The last sequence applied, by node and monitor.
        var lastSequence: [String: [String: Int64]] = [:]
        /// The digest and instance count last applied, by node and settings id.
        var applied: [String: [String: (digest: String, count: Int)]] = [:]
    }

    /// What a node reports, per settings id: path → id, instances and associations apart.
    struct NodeState {
        var instances: [String: [String: Int64]] = [:]
        var associations: [String: [String: Int64]] = [:]
    }

    typealias Item = ItemState<DiscoveryPlan>

    /// Stage one: monitor, sequence number, the outputs themselves.
    static func check(_ results: [DiscoveryResult], loaded: Loaded, catalog: ModelCatalog, maximumOutputBytes: Int) -> [Item] {
        results.map { result in
            guard let snapshot = loaded.snapshots[result.monitor] else {
                return .refused([IngestError(node: result.node, "unknown discovery monitor \(result.monitor)")])
            }
            if result.sequence > 0, let last = loaded.lastSequence[result.node]?[result.monitor], last >= result.sequence {
                return .duplicate(sequence: result.sequence, lastApplied: last)
            }
            let plan = DiscoveryPlan(
                result, snapshot: snapshot, catalog: catalog, applied: loaded.applied[result.node] ?? [:],
                maximumOutputBytes: maximumOutputBytes)
            return plan.errors.isEmpty ? .accepted(plan) : .refused(plan.errors)
        }
    }

    /// The nodes whose current instances stage two needs: those with changed outputs.
    static func nodesToLoad(_ items: [Item]) -> [String] {
        items.compactMap { $0.accepted }.filter { !$0.changedRuns.isEmpty }.map(\.result.node)
    }

    /// Stage two: associations may only point at instances the node reports once its result is
    /// applied — those its changed outputs report, and those of the settings whose outputs did
    /// not change. An unchanged association output that still names an instance the node
    /// stopped reporting is inconsistent too (a failed or not-run script is not: its
    /// associations go with the instance).
    static func checkReferences(_ items: [Item], states: [String: NodeState], catalog: ModelCatalog) -> [Item] {
        items.map { item in
            guard let plan = item.accepted, !plan.changedRuns.isEmpty else { return item }
            let node = plan.result.node
            let state = states[node] ?? NodeState()
            let changed = Set(plan.changedRuns.map(\.settings.id))
            var after: Set<String> = []
            for (settings, instances) in state.instances where !changed.contains(settings) { after.formUnion(instances.keys) }
            for run in plan.changedRuns { after.formUnion(run.instances.map(\.path)) }
            var errors: [IngestError] = []
            for run in plan.changedRuns {
                let place = IngestError(node: node, monitor: plan.result.monitor, settings: run.settings.id, "")
                for association in run.associations {
                    for (property, value) in association.keys where property.isReference {
                        guard case .reference(let target) = value, !after.contains(target) else { continue }
                        errors.append(
                            place.with(
                                output: .association, line: association.line, column: 1,
                                "\(association.cls.name).\(property.name) refers to \(target), which node \(node) does not report"))
                    }
                }
            }
            let gone = plan.changedRuns.flatMap { run in (state.instances[run.settings.id] ?? [:]).keys.filter { !after.contains($0) } }
            if !gone.isEmpty {
                let goneSet = Set(gone)
                var canonicalizer = PathCanonicalizer(catalog: catalog)
                for run in plan.runs where run.unchanged && !run.skipped {
                    let place = IngestError(node: node, monitor: plan.result.monitor, settings: run.settings.id, "")
                    for path in (state.associations[run.settings.id] ?? [:]).keys.sorted() {
                        // Stored paths were canonical when written; one that no longer parses is not this result's fault.
                        guard let parsed = try? InstancePath.parse(path), let canonical = try? canonicalizer.canonical(parsed) else { continue }
                        for (property, value) in canonical.keys where property.isReference {
                            guard case .reference(let target) = value, goneSet.contains(target) else { continue }
                            errors.append(
                                place.with(
                                    "the association output (unchanged since the last run) reports \(path), whose \(property.name) is \(target), which node \(node) no longer reports"
                                ))
                        }
                    }
                }
            }
            var decided = item
            decided.refuse(errors)
            return decided
        }
    }

    /// An instance or association a node reports that it did not report before under that
    /// settings object: created, or attached when it exists. An association's references are
    /// target paths here; the writer resolves them to ids once the instances exist.
    struct Wanted {
        var item: Int
        var settings: MonitorSnapshot.Settings
        var cls: ClassMapping
        var path: String
        var keys: [(PropertyMapping, Value)]
    }

    /// An instance a node stopped reporting under a settings object.
    struct Gone {
        var item: Int
        var node: String
        var settings: String
        var id: Int64
        var severity: Severity
    }

    /// What a round writes, in order.
    struct WritePlan {
        /// The accepted items, by position, with their nodes.
        var accepted: [Int] = []
        var summaries: [Int: DiscoverySummary] = [:]
        var instances: [Wanted] = []
        var associations: [Wanted] = []
        var gone: [Gone] = []
        /// Settings objects that now report nothing on a node (their update monitors go) and
        /// those that report something (their update monitors are deployed if missing).
        var emptied: [(item: Int, node: String, settings: String)] = []
        var filled: [(item: Int, node: String, settings: String)] = []
        /// `cimdb.discovery_state` rows of the changed outputs.
        var states: [(node: String, settings: String, monitor: String, digest: String, count: Int)] = []
        /// The results applied, for `cimdb.node` and `cimdb.discovery_run`.
        var runs: [DiscoveryResult] = []
    }

    /// Stage three: the writes the accepted items ask for.
    static func writePlan(_ items: [Item], states: [String: NodeState]) -> WritePlan {
        var plan = WritePlan()
        for (index, item) in items.enumerated() {
            guard let accepted = item.accepted else { continue }
            plan.accepted.append(index)
            plan.runs.append(accepted.result)
            var summary = DiscoverySummary(node: accepted.result.node, monitor: accepted.result.monitor)
            summary.unchangedSettings = accepted.runs.filter(\.unchanged).map(\.settings.id)
            summary.skippedSettings = accepted.runs.filter { $0.skipped && !$0.unchanged }.map(\.settings.id)
            summary.failedSettings = accepted.failed
            plan.summaries[index] = summary
        }
        // Instances first (associations refer to them), then associations, for every item.
        for index in plan.accepted {
            let accepted = items[index].accepted!
            let state = states[accepted.result.node] ?? NodeState()
            for run in accepted.changedRuns {
                let current = state.instances[run.settings.id] ?? [:]
                for instance in run.instances where current[instance.path] == nil {
                    plan.instances.append(Wanted(item: index, settings: run.settings, cls: run.cls, path: instance.path, keys: instance.keys))
                }
            }
        }
        for index in plan.accepted {
            let accepted = items[index].accepted!
            let node = accepted.result.node
            let state = states[node] ?? NodeState()
            for run in accepted.changedRuns {
                let current = state.associations[run.settings.id] ?? [:]
                for association in run.associations where current[association.path] == nil {
                    plan.associations.append(
                        Wanted(item: index, settings: run.settings, cls: association.cls, path: association.path, keys: association.keys))
                }
                let reported = Set(run.instances.map(\.path)).union(run.associations.map(\.path))
                let currentAll = current.merging(state.instances[run.settings.id] ?? [:]) { a, _ in a }
                for (path, id) in currentAll.sorted(by: { $0.value < $1.value }) where !reported.contains(path) {
                    plan.gone.append(Gone(item: index, node: node, settings: run.settings.id, id: id, severity: run.settings.deletedSeverity))
                }
                if run.instances.isEmpty {
                    plan.emptied.append((index, node, run.settings.id))
                } else {
                    plan.filled.append((index, node, run.settings.id))
                }
                plan.states.append((node, run.settings.id, accepted.result.monitor, run.digest, run.instances.count))
            }
        }
        return plan
    }
}

extension DiscoveryPlan {
    /// The settings whose outputs are to be applied (not unchanged since the last run).
    var changedRuns: [SettingsPlan] { runs.filter { !$0.unchanged } }
}
