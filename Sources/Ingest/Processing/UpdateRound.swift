import CIM
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// One round of an update batch (no update monitor twice), inside the caller's transaction:
/// configuration, sequence numbers and outputs checked, every line's instance resolved with one
/// query, then the accepted values written with one statement per class.
struct UpdateRound {
    let processor: UpdateProcessor
    let deliveries: [Delivery<UpdateResult>]
    let connection: Connection
    var catalog: ModelCatalog { processor.catalog }

    var outcomes: [UpdateOutcome?]
    var summaries: [Int: UpdateSummary] = [:]
    /// Accepted results whose values are to be written.
    var parsed: [Int: Parsed] = [:]
    /// The digest to record per accepted result (nil: keep the one recorded).
    var digests: [Int: String] = [:]
    /// The line fingerprints to record per accepted result (nil: keep those recorded).
    var fingerprints: [Int: [UInt64]] = [:]
    var events = EventBatch()

    /// What an inventory property's update output is read with.
    struct Config {
        var cls: ClassMapping
        var property: PropertyMapping
        /// The property's name as the configuration spells it (and deployments copy it).
        var storedName: String
        var keys: [PropertyMapping]
        var severity: Severity
        /// What decides how lines are read (class, key order, property): it prefixes the
        /// output's digest and seeds the line fingerprints. Built once per configuration.
        let head: [UInt8]
        let fingerprintSeed: UInt64

        init(cls: ClassMapping, property: PropertyMapping, storedName: String, keys: [PropertyMapping], severity: Severity) {
            self.cls = cls
            self.property = property
            self.storedName = storedName
            self.keys = keys
            self.severity = severity
            head = Array((cls.name + "\u{0}" + keys.map(\.name).joined(separator: ",") + "\u{0}" + property.name + "\u{0}").utf8)
            fingerprintSeed = LineFingerprints.hash(head)
        }
    }

    struct Parsed {
        var config: Config
        var lines: [Line]
        /// Errors found while parsing, reported with those found while resolving.
        var errors: [LocatedError]
    }

    typealias LocatedError = (line: Int, column: Int, message: String)

    struct Line {
        var number: Int
        var path: String
        var value: String?
        var id: Int64 = 0
    }

    init(processor: UpdateProcessor, deliveries: [Delivery<UpdateResult>], connection: Connection) {
        self.processor = processor
        self.deliveries = deliveries
        self.connection = connection
        self.outcomes = Array(repeating: nil, count: deliveries.count)
    }

    mutating func run() throws -> [UpdateOutcome] {
        try IndexProbes.only(on: connection)
        try check()
        try resolve()
        try write()
        return outcomes.map { $0! }
    }

    func place(_ result: UpdateResult) -> String { "node \(result.node), settings \(result.settings), property \(result.property)" }

    mutating func reject(_ index: Int, _ errors: [String]) throws {
        let result = deliveries[index].result
        let id = try Rejection.record(kind: "update", node: result.node, monitor: nil, settings: result.settings, property: result.property,
                                      raw: deliveries[index].raw ?? Envelope.encode(result), errors: errors, on: connection)
        outcomes[index] = .rejected(id: id, errors: errors)
        summaries[index] = nil
        parsed[index] = nil
        digests[index] = nil
        fingerprints[index] = nil
    }

    // MARK: - Checks

    mutating func check() throws {
        let results = deliveries.map(\.result)
        // The inventory properties the round names (a handful, however many results).
        var pairs: [String: (settings: String, property: String)] = [:]
        for result in results { pairs[result.settings + "\u{0}" + result.property.lowercased()] = (result.settings, result.property.lowercased()) }
        let wanted = Array(pairs.values)
        var configs: [String: Config] = [:]
        for row in try connection.execute("""
            SELECT s.id, lower(p.property_name), s.class_name, s.key_property_order, p.property_name, p.changed_severity
            FROM unnest(\(wanted.map(\.settings)), \(wanted.map(\.property))) AS u (settings, property)
            JOIN cimdb.inventory_settings s ON s.id = u.settings
            JOIN cimdb.inventory_property p ON p.settings = s.id AND lower(p.property_name) = u.property
            """) {
            guard let id = row.string(0), let lowered = row.string(1), let stored = row.string(4),
                  let cls = row.string(2).flatMap({ catalog.class(named: $0) }), let property = cls.property(named: stored) else { continue }
            let keyOrder = (row.stringArray(3) ?? []).compactMap { $0 }
            let keys = keyOrder.compactMap { cls.property(named: $0) }
            guard keys.count == keyOrder.count else { continue }
            configs[id + "\u{0}" + lowered] = Config(cls: cls, property: property, storedName: stored, keys: keys,
                                                    severity: Severity(rawValue: row.string(5) ?? "") ?? .info)
        }
        let configOf = results.map { configs[$0.settings + "\u{0}" + $0.property.lowercased()] }
        // Per result, by exact names (so that the primary keys are used): the severity its
        // deployment on the node was given, and the monitor's last run, locked.
        let nodes = results.map(\.node), settings = results.map(\.settings)
        var deployedSeverity = [Severity?](repeating: nil, count: results.count)
        for row in try connection.execute("""
            SELECT u.n, d.changed_severity
            FROM unnest(\(nodes), \(settings), \(configOf.map { $0?.storedName })) WITH ORDINALITY AS u (node, settings, property, n)
            JOIN cimdb.update_deployment d ON d.node = u.node AND d.settings = u.settings AND d.property_name = u.property
            """) {
            if let n = row.int(0), let severity = row.string(1).flatMap(Severity.init(rawValue:)) { deployedSeverity[n - 1] = severity }
        }
        var last = [(sequence: Int64, digest: String, lines: [UInt8])?](repeating: nil, count: results.count)
        for row in try connection.execute("""
            SELECT u.n, r.sequence, r.digest, r.line_hashes
            FROM unnest(\(nodes), \(settings), \(configOf.map { $0?.property.name })) WITH ORDINALITY AS u (node, settings, property, n)
            JOIN cimdb.update_run r ON r.node = u.node AND r.settings = u.settings AND r.property_name = u.property
            FOR UPDATE OF r
            """) {
            if let n = row.int(0), let sequence = row.int64(1), let digest = row.string(2) { last[n - 1] = (sequence, digest, row.bytes(3) ?? []) }
        }

        for (index, result) in results.enumerated() {
            guard var config = configOf[index] else {
                try reject(index, ["\(place(result)): no such inventory property (settings \(result.settings) has no property \(result.property), or the class is not in the installed model)"])
                continue
            }
            config.severity = deployedSeverity[index] ?? config.severity
            let previous = last[index]
            if result.sequence > 0, let previous, previous.sequence >= result.sequence {
                outcomes[index] = .duplicate(sequence: result.sequence, lastApplied: previous.sequence)
                continue
            }
            if result.output.count > processor.maximumOutputBytes {
                try reject(index, ["\(place(result)): the update output is \(result.output.count) bytes, over the cap of \(processor.maximumOutputBytes)"])
                continue
            }
            var summary = UpdateSummary(node: result.node, settings: result.settings, property: config.property.name)
            if result.status == .failed {
                summary.failed = true
                summaries[index] = summary
                digests[index] = previous?.digest ?? ""
                continue
            }
            let digest = Self.digest(config, result.output)
            digests[index] = digest
            if previous?.digest == digest {
                summary.unchangedOutput = true
                summaries[index] = summary
                continue
            }
            // Only the lines that are not in the last applied output are read.
            let previousLines = previous.map { $0.digest.isEmpty ? [] : LineFingerprints.decode($0.lines) } ?? []
            let split = LineFingerprints.split(result.output, seed: config.fingerprintSeed, previous: previousLines)
            fingerprints[index] = split.fingerprints
            summary.values = split.unchanged
            summary.unchangedLines = split.unchanged
            summaries[index] = summary
            guard !split.lineNumbers.isEmpty else { continue }
            let (lines, errors) = parse(result, config, output: split.novel, lineNumbers: split.lineNumbers)
            parsed[index] = Parsed(config: config, lines: lines, errors: errors)
        }
    }

    /// The digest recorded in `cimdb.update_run`: of the output and of what decides how it is
    /// read (class, key order, property).
    static func digest(_ config: Config, _ output: [UInt8]) -> String {
        Digest.sha256(config.head + output)
    }

    /// Parses (part of) an output into (line, instance path, SQL text of the value) and the
    /// errors found; `lineNumbers[k]` is the original line number of the part's line k + 1.
    func parse(_ result: UpdateResult, _ config: Config, output: [UInt8], lineNumbers: [Int]) -> (lines: [Line], errors: [LocatedError]) {
        let cls = config.cls, keys = config.keys, property = config.property
        let (outputLines, parseErrors) = ScriptOutput.parse(output, fields: keys.count + 1,
                                                            meaning: "the key properties in KeyPropertyOrder, then the value of \(property.name)")
        let original = { (line: Int) in line >= 1 && line <= lineNumbers.count ? lineNumbers[line - 1] : line }
        var located: [LocatedError] = parseErrors.map { (original($0.line), $0.column, $0.message) }
        var lines: [Line] = []
        lines.reserveCapacity(outputLines.count)
        var keyValues: [(String, Value)] = []
        // The canonical path lists keys by name: the order is the same for every line.
        let pathOrder = keys.indices.sorted { namePrecedes(keys[$0].name, keys[$1].name) }
        let scalarKeys = keys.map(FieldConversion.scalar)
        for line in outputLines {
            keyValues.removeAll(keepingCapacity: true)
            var ok = true
            for (index, key) in keys.enumerated() {
                do throws(ValueError) {
                    keyValues.append((key.name, try FieldConversion.key(line.fields[index], key, scalar: scalarKeys[index], className: cls.name)))
                } catch {
                    located.append((original(line.number), line.fieldColumns[index], error.message))
                    ok = false
                }
            }
            let valueIndex = keys.count
            let value: Value
            do throws(ValueError) {
                value = try FieldConversion.value(line.fields[valueIndex], property, className: cls.name)
            } catch {
                located.append((original(line.number), line.fieldColumns[valueIndex], error.message))
                continue
            }
            guard ok else { continue }
            let path = InstancePath(className: cls.name, keys: pathOrder.map { keyValues[$0] }).description
            lines.append(Line(number: original(line.number), path: path, value: ValueCoding.sqlValue(value, for: property).text))
        }
        return (lines, located)
    }

    /// Every line's instance, among those the node reports under the settings object: one query
    /// for the whole round. A line naming anything else rejects its result, with every error the
    /// parse found, in output order.
    mutating func resolve() throws {
        let order = parsed.keys.sorted()
        var nodes: [String?] = [], settings: [String?] = [], paths: [String?] = []
        for index in order {
            let result = deliveries[index].result
            for line in parsed[index]!.lines {
                nodes.append(result.node)
                settings.append(result.settings)
                paths.append(line.path)
            }
        }
        let found = try instanceIDs(nodes: nodes, settings: settings, paths: paths)
        var position = 0
        for index in order {
            let result = deliveries[index].result
            var errors = parsed[index]!.errors
            var lineOf: [Int64: Int] = [:]
            for i in parsed[index]!.lines.indices {
                let line = parsed[index]!.lines[i]
                let id = found[position]
                position += 1
                guard id != 0 else {
                    errors.append((line.number, 1, "node \(result.node) does not report \(line.path) (settings \(result.settings))"))
                    continue
                }
                if let first = lineOf[id] {
                    errors.append((line.number, 1, "the same instance as line \(first)"))
                    continue
                }
                lineOf[id] = line.number
                parsed[index]!.lines[i].id = id
            }
            if !errors.isEmpty {
                try reject(index, errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) }.map {
                    "\(place(result)), update output line \($0.line), column \($0.column): \($0.message)"
                })
            }
        }
    }

    /// The id of each (node, settings, path)'s instance among those the node reports under the
    /// settings object; 0 where there is none. Each distinct triple is looked up once (the
    /// update outputs of one settings object name the same instances).
    func instanceIDs(nodes: [String?], settings: [String?], paths: [String?]) throws -> [Int64] {
        struct Triple: Hashable { var node: String?, settings: String?, path: String? }
        var position: [Triple: Int] = [:]
        var distinct: [Triple] = []
        let slots = paths.indices.map { i in
            let t = Triple(node: nodes[i], settings: settings[i], path: paths[i])
            if let p = position[t] { return p }
            position[t] = distinct.count
            distinct.append(t)
            return distinct.count - 1
        }
        var found = [Int64](repeating: 0, count: distinct.count)
        if !distinct.isEmpty {
            // A correlated subquery: two unique index probes per line, whatever the statistics
            // say (as a join, the planner tends to scan a node's whole log for each line).
            for row in try connection.execute("""
                SELECT u.n, (SELECT i.id FROM cimdb.instance i WHERE i.path = u.path AND EXISTS (
                    SELECT 1 FROM cimdb.instance_source s WHERE s.node = u.node AND s.settings = u.settings AND s.instance_id = i.id))
                FROM unnest(\(distinct.map(\.node)), \(distinct.map(\.settings)), \(distinct.map(\.path))) WITH ORDINALITY AS u (node, settings, path, n)
                """) {
                if let n = row.int(0), let id = row.int64(1) { found[n - 1] = id }
            }
        }
        return slots.map { found[$0] }
    }

    // MARK: - Writes

    mutating func write() throws {
        // Values per class; the last result of the round wins where two give the same value
        // (two nodes reporting a shared instance).
        var byClass: [String: ClassUpdate] = [:]
        var classOrder: [String] = []
        for index in parsed.keys.sorted() {
            let p = parsed[index]!
            let node = deliveries[index].result.node
            summaries[index]!.values += p.lines.count
            if byClass[p.config.cls.name] == nil {
                byClass[p.config.cls.name] = ClassUpdate(cls: p.config.cls)
                classOrder.append(p.config.cls.name)
            }
            for line in p.lines {
                byClass[p.config.cls.name]!.set(line.id, path: line.path, p.config.property, to: line.value, node: node, severity: p.config.severity)
            }
        }
        // Changed values and events, attributed to the results by (node, property).
        var itemOf: [String: Int] = [:]
        for (index, summary) in summaries.sorted(by: { $0.key < $1.key }) {
            let key = summary.node + "\u{0}" + summary.property.lowercased()
            if itemOf[key] == nil { itemOf[key] = index }
        }
        for name in classOrder {
            for tally in try byClass[name]!.apply(on: connection) {
                guard let index = itemOf[tally.node + "\u{0}" + tally.property.lowercased()] else { continue }
                summaries[index]!.changed += tally.changed
                summaries[index]!.events += tally.events
                if let first = tally.firstEvent, let last = tally.lastEvent { events.record(first: first, last: last, count: tally.events) }
            }
        }
        try recordRuns()
        _ = try events.finish(on: connection)
        for (index, summary) in summaries { outcomes[index] = .applied(summary) }
    }

    /// The update monitors' last sequence numbers and digests, and the nodes' last update time.
    func recordRuns() throws {
        let accepted = summaries.keys.sorted()
        guard !accepted.isEmpty else { return }
        let results = accepted.map { deliveries[$0].result }
        try connection.execute("""
            INSERT INTO cimdb.update_run (node, settings, property_name, sequence, digest, line_hashes, applied_at)
            SELECT u.node, u.settings, u.property, u.sequence, u.digest, u.lines, now()
            FROM unnest(\(results.map(\.node)), \(results.map(\.settings)), \(accepted.map { summaries[$0]!.property }), \(results.map { max($0.sequence, 0) }), \(accepted.map { digests[$0] ?? "" }), \(accepted.map { fingerprints[$0].map { Bytea(LineFingerprints.encode($0)) } })) AS u (node, settings, property, sequence, digest, lines)
            ON CONFLICT (node, settings, property_name) DO UPDATE
            SET sequence = greatest(update_run.sequence, EXCLUDED.sequence), digest = EXCLUDED.digest,
                line_hashes = coalesce(EXCLUDED.line_hashes, update_run.line_hashes), applied_at = EXCLUDED.applied_at
            """)
        try connection.execute("""
            INSERT INTO cimdb.node (name, last_update_at) SELECT DISTINCT unnest(\(results.map(\.node))), now()
            ON CONFLICT (name) DO UPDATE SET last_update_at = EXCLUDED.last_update_at
            """)
    }
}
