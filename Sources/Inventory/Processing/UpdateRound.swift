import CIM
import ORM
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
    var events = EventBatch()

    /// What an inventory property's update output is read with.
    struct Config {
        var cls: ClassMapping
        var property: PropertyMapping
        var keys: [PropertyMapping]
        var severity: Severity
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
    }

    // MARK: - Checks

    mutating func check() throws {
        let results = deliveries.map(\.result)
        let nodes = SQLValue(array: results.map(\.node)), settings = SQLValue(array: results.map(\.settings))
        let properties = SQLValue(array: results.map { $0.property.lowercased() })
        // The inventory properties, with the severity their deployment on the node was given.
        var configs: [String: Config] = [:]
        var deployedSeverity: [String: Severity] = [:]
        for row in try connection.execute("""
            SELECT DISTINCT s.id, lower(p.property_name), s.class_name, s.key_property_order, p.property_name, p.changed_severity
            FROM unnest($1::text[], $2::text[]) AS u (settings, property)
            JOIN cimdb.inventory_settings s ON s.id = u.settings
            JOIN cimdb.inventory_property p ON p.settings = s.id AND lower(p.property_name) = u.property
            """, [settings, properties]) {
            guard let id = row.string(0), let lowered = row.string(1), let cls = row.string(2).flatMap({ catalog.class(named: $0) }),
                  let property = row.string(4).flatMap({ cls.property(named: $0) }) else { continue }
            let keyOrder = (row.stringArray(3) ?? []).compactMap { $0 }
            let keys = keyOrder.compactMap { cls.property(named: $0) }
            guard keys.count == keyOrder.count else { continue }
            configs[id + "\u{0}" + lowered] = Config(cls: cls, property: property, keys: keys, severity: Severity(rawValue: row.string(5) ?? "") ?? .info)
        }
        for row in try connection.execute("""
            SELECT d.node, d.settings, lower(d.property_name), d.changed_severity FROM cimdb.update_deployment d
            JOIN unnest($1::text[], $2::text[], $3::text[]) AS u (node, settings, property)
              ON d.node = u.node AND d.settings = u.settings AND lower(d.property_name) = u.property
            """, [nodes, settings, properties]) {
            if let node = row.string(0), let s = row.string(1), let p = row.string(2), let severity = row.string(3).flatMap(Severity.init(rawValue:)) {
                deployedSeverity[node + "\u{0}" + s + "\u{0}" + p] = severity
            }
        }
        var last: [String: (sequence: Int64, digest: String)] = [:]
        for row in try connection.execute("""
            SELECT r.node, r.settings, lower(r.property_name), r.sequence, r.digest FROM cimdb.update_run r
            JOIN unnest($1::text[], $2::text[], $3::text[]) AS u (node, settings, property)
              ON r.node = u.node AND r.settings = u.settings AND lower(r.property_name) = u.property
            FOR UPDATE OF r
            """, [nodes, settings, properties]) {
            if let node = row.string(0), let s = row.string(1), let p = row.string(2), let sequence = row.int64(3), let digest = row.string(4) {
                last[node + "\u{0}" + s + "\u{0}" + p] = (sequence, digest)
            }
        }

        for (index, result) in results.enumerated() {
            let lowered = result.property.lowercased()
            guard var config = configs[result.settings + "\u{0}" + lowered] else {
                try reject(index, ["\(place(result)): no such inventory property (settings \(result.settings) has no property \(result.property), or the class is not in the installed model)"])
                continue
            }
            let runKey = result.node + "\u{0}" + result.settings + "\u{0}" + lowered
            config.severity = deployedSeverity[runKey] ?? config.severity
            let previous = last[runKey]
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
            summaries[index] = summary
            let (lines, errors) = parse(result, config)
            parsed[index] = Parsed(config: config, lines: lines, errors: errors)
        }
    }

    /// The digest recorded in `cimdb.update_run`: of the output and of what decides how it is
    /// read (class, key order, property).
    static func digest(_ config: Config, _ output: [UInt8]) -> String {
        let head = config.cls.name + "\u{0}" + config.keys.map(\.name).joined(separator: ",") + "\u{0}" + config.property.name + "\u{0}"
        return Digest.sha256(Array(head.utf8) + output)
    }

    /// Parses an output into (line, instance path, SQL text of the value) and the errors found.
    func parse(_ result: UpdateResult, _ config: Config) -> (lines: [Line], errors: [LocatedError]) {
        let cls = config.cls, keys = config.keys, property = config.property
        let (outputLines, parseErrors) = ScriptOutput.parse(result.output, fields: keys.count + 1,
                                                            meaning: "the key properties in KeyPropertyOrder, then the value of \(property.name)")
        var located: [LocatedError] = parseErrors.map { ($0.line, $0.column, $0.message) }
        var lines: [Line] = []
        lines.reserveCapacity(outputLines.count)
        var keyValues: [(String, Value)] = []
        for line in outputLines {
            keyValues.removeAll(keepingCapacity: true)
            var ok = true
            for (index, key) in keys.enumerated() {
                do throws(ValueError) {
                    keyValues.append((key.name, try FieldConversion.key(line.fields[index], key, className: cls.name)))
                } catch {
                    located.append((line.number, line.fieldColumns[index], error.message))
                    ok = false
                }
            }
            let valueIndex = keys.count
            let value: Value
            do throws(ValueError) {
                value = try FieldConversion.value(line.fields[valueIndex], property, className: cls.name)
            } catch {
                located.append((line.number, line.fieldColumns[valueIndex], error.message))
                continue
            }
            guard ok else { continue }
            lines.append(Line(number: line.number, path: FieldConversion.path(cls.name, keyValues), value: ValueCoding.sqlValue(value, for: property).text))
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
    /// settings object; 0 where there is none.
    func instanceIDs(nodes: [String?], settings: [String?], paths: [String?]) throws -> [Int64] {
        var found = [Int64](repeating: 0, count: paths.count)
        guard !paths.isEmpty else { return found }
        for row in try connection.execute("""
            SELECT u.n, s.instance_id
            FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u (node, settings, path, n)
            JOIN cimdb.instance i ON i.path = u.path
            JOIN cimdb.instance_source s ON s.node = u.node AND s.settings = u.settings AND s.instance_id = i.id
            """, [SQLValue(array: nodes), SQLValue(array: settings), SQLValue(array: paths)]) {
            if let n = row.int(0), let id = row.int64(1) { found[n - 1] = id }
        }
        return found
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
            summaries[index]!.values = p.lines.count
            if byClass[p.config.cls.name] == nil {
                byClass[p.config.cls.name] = ClassUpdate(cls: p.config.cls)
                classOrder.append(p.config.cls.name)
            }
            for line in p.lines {
                byClass[p.config.cls.name]!.set(line.id, p.config.property, to: line.value, node: node, severity: p.config.severity)
            }
        }
        // Changed values and events, attributed to the results by (node, property).
        var itemOf: [String: Int] = [:]
        for (index, summary) in summaries { itemOf[summary.node + "\u{0}" + summary.property.lowercased()] = itemOf[summary.node + "\u{0}" + summary.property.lowercased()] ?? index }
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
            INSERT INTO cimdb.update_run (node, settings, property_name, sequence, digest, applied_at)
            SELECT u.node, u.settings, u.property, u.sequence, u.digest, now()
            FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) AS u (node, settings, property, sequence, digest)
            ON CONFLICT (node, settings, property_name) DO UPDATE
            SET sequence = greatest(update_run.sequence, EXCLUDED.sequence), digest = EXCLUDED.digest, applied_at = EXCLUDED.applied_at
            """, [SQLValue(array: results.map(\.node)), SQLValue(array: results.map(\.settings)), SQLValue(array: accepted.map { summaries[$0]!.property }),
                  SQLValue(array: results.map { String(max($0.sequence, 0)) }), SQLValue(array: accepted.map { digests[$0] ?? "" })])
        try connection.execute("""
            INSERT INTO cimdb.node (name, last_update_at) SELECT DISTINCT unnest($1::text[]), now()
            ON CONFLICT (name) DO UPDATE SET last_update_at = EXCLUDED.last_update_at
            """, [SQLValue(array: results.map(\.node))])
    }
}
