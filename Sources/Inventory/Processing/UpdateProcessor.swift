import CIM
import ORM
import Store

/// What applying an update result did.
public struct UpdateSummary: Sendable, Hashable, CustomStringConvertible {
    public var node: String
    public var settings: String
    public var property: String
    /// Values the output gave, and how many of them changed the stored value.
    public var values = 0
    public var changed = 0
    /// The output was byte for byte the last one applied: nothing was parsed or written.
    public var unchangedOutput = false
    /// The script failed on the node: values were left as they were.
    public var failed = false
    public var events = 0

    public var description: String {
        let what = "node \(node), \(settings).\(property)"
        if failed { return "\(what): the update script failed on the node; values left as they were" }
        if unchangedOutput { return "\(what): unchanged output" }
        return "\(what): \(values) values, \(changed) changed, \(events) events"
    }
}

public enum UpdateOutcome: Sendable, Hashable {
    case applied(UpdateSummary)
    case duplicate(sequence: Int64, lastApplied: Int64)
    case rejected(id: Int64, errors: [String])
}

/// Applies update results (SPEC §5): each line names an instance the node reports (its keys in
/// KeyPropertyOrder) and gives the property's value, converted to the property's CIM type. A
/// changed value is written with its node and time, and emits a value-change event with the
/// property's severity (the first value an update writes is not a change); an unchanged value
/// writes nothing; an instance without a line keeps its value.
public struct UpdateProcessor: Sendable {
    public var catalog: ModelCatalog
    /// Outputs larger than this are rejected.
    public var maximumOutputBytes: Int

    public init(catalog: ModelCatalog, maximumOutputBytes: Int = DiscoveryProcessor.defaultMaximumOutputBytes) {
        self.catalog = catalog
        self.maximumOutputBytes = maximumOutputBytes
    }

    public func apply(_ result: UpdateResult, raw: [UInt8]? = nil, on connection: Connection) throws -> UpdateOutcome {
        let place = "node \(result.node), settings \(result.settings), property \(result.property)"
        let rejected = { (errors: [String], connection: Connection) throws -> UpdateOutcome in
            let id = try Rejection.record(kind: "update", node: result.node, monitor: nil, settings: result.settings, property: result.property,
                                          raw: raw ?? Envelope.encode(result), errors: errors, on: connection)
            return .rejected(id: id, errors: errors)
        }
        return try connection.transaction { connection in
            guard let config = try connection.execute("""
                SELECT s.class_name, s.key_property_order, p.property_name, coalesce(d.changed_severity, p.changed_severity) AS severity
                FROM cimdb.inventory_settings s
                JOIN cimdb.inventory_property p ON p.settings = s.id AND lower(p.property_name) = lower($2)
                LEFT JOIN cimdb.update_deployment d ON d.node = $3 AND d.settings = s.id AND d.property_name = p.property_name
                WHERE s.id = $1
                """, [SQLValue(result.settings), SQLValue(result.property), SQLValue(result.node)]).first,
                  let className = config["class_name"], let cls = catalog.class(named: className),
                  let propertyName = config["property_name"], let property = cls.property(named: propertyName)
            else {
                return try rejected(["\(place): no such inventory property (settings \(result.settings) has no property \(result.property), or the class is not in the installed model)"], connection)
            }
            let severity = Severity(rawValue: config["severity"] ?? "") ?? .info
            var summary = UpdateSummary(node: result.node, settings: result.settings, property: property.name)
            let last = try connection.execute(
                "SELECT sequence, digest FROM cimdb.update_run WHERE node = $1 AND settings = $2 AND property_name = $3 FOR UPDATE",
                [SQLValue(result.node), SQLValue(result.settings), SQLValue(property.name)]).first
            if result.sequence > 0, let lastSequence = last?.int64("sequence"), lastSequence >= result.sequence {
                return .duplicate(sequence: result.sequence, lastApplied: lastSequence)
            }
            if result.output.count > maximumOutputBytes {
                return try rejected(["\(place): the update output is \(result.output.count) bytes, over the cap of \(maximumOutputBytes)"], connection)
            }
            let digest = Digest.sha256(result.output)
            if result.status == .failed {
                summary.failed = true
            } else if last?["digest"] == digest {
                summary.unchangedOutput = true
            } else {
                let keyOrder = (config.stringArray("key_property_order") ?? []).compactMap { $0 }
                let keys = keyOrder.compactMap { cls.property(named: $0) }
                guard keys.count == keyOrder.count else {
                    return try rejected(["\(place): KeyPropertyOrder \(keyOrder.joined(separator: ",")) does not match the keys of \(cls.name)"], connection)
                }
                var ids: [String: Int64] = [:]
                for row in try connection.execute("""
                    SELECT i.path, i.id FROM cimdb.instance_source s JOIN cimdb.instance i ON i.id = s.instance_id
                    WHERE s.node = $1 AND s.settings = $2
                    """, [SQLValue(result.node), SQLValue(result.settings)]) {
                    if let path = row["path"], let id = row.int64("id") { ids[path] = id }
                }
                let (lines, parseErrors) = ScriptOutput.parse(result.output, fields: keys.count + 1, meaning: "the key properties in KeyPropertyOrder, then the value of \(property.name)")
                var located = parseErrors.map { (line: $0.line, column: $0.column, message: $0.message) }
                var updates: [(id: Int64, value: SQLValue)] = []
                var lineOf: [Int64: Int] = [:]
                for line in lines {
                    var keyValues: [(String, Value)] = []
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
                    let path = FieldConversion.path(cls.name, keyValues)
                    guard let id = ids[path] else {
                        located.append((line.number, 1, "node \(result.node) does not report \(path) (settings \(result.settings))"))
                        continue
                    }
                    if let first = lineOf[id] {
                        located.append((line.number, 1, "the same instance as line \(first)"))
                        continue
                    }
                    lineOf[id] = line.number
                    updates.append((id, ValueCoding.sqlValue(value, for: property)))
                }
                if !located.isEmpty {
                    return try rejected(located.sorted { ($0.line, $0.column) < ($1.line, $1.column) }.map {
                        "\(place), update output line \($0.line), column \($0.column): \($0.message)"
                    }, connection)
                }
                summary.values = updates.count
                var events = EventBatch()
                try write(updates, to: cls, property: property, node: result.node, severity: severity, events: &events, summary: &summary, on: connection)
                summary.events = try events.write(on: connection)
            }
            try connection.execute("""
                INSERT INTO cimdb.update_run (node, settings, property_name, sequence, digest) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (node, settings, property_name) DO UPDATE SET sequence = greatest(update_run.sequence, $4), digest = $5, applied_at = now()
                """, [SQLValue(result.node), SQLValue(result.settings), SQLValue(property.name), SQLValue(max(result.sequence, 0)),
                      SQLValue(result.status == .failed ? (last?["digest"] ?? "") : digest)])
            try connection.execute("INSERT INTO cimdb.node (name, last_update_at) VALUES ($1, now()) ON CONFLICT (name) DO UPDATE SET last_update_at = now()",
                                   [SQLValue(result.node)])
            return .applied(summary)
        }
    }

    /// Writes the values that differ, records their source, and emits change events.
    func write(
        _ updates: [(id: Int64, value: SQLValue)], to cls: ClassMapping, property: PropertyMapping, node: String, severity: Severity,
        events: inout EventBatch, summary: inout UpdateSummary, on connection: Connection
    ) throws {
        guard !updates.isEmpty else { return }
        let column = SQLNames.quoted(property.column)
        let type = property.columnType.sql
        let changed = try connection.execute("""
            WITH input AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS u (id, value)),
            changed AS (
                SELECT t.\(SQLNames.instanceIDColumn) AS id, t.\(column)::text AS old, input.value::\(type) AS new
                FROM \(cls.qualifiedTable) t JOIN input ON t.\(SQLNames.instanceIDColumn) = input.id
                WHERE t.\(column) IS DISTINCT FROM input.value::\(type)),
            updated AS (
                UPDATE \(cls.qualifiedTable) t SET \(column) = changed.new FROM changed WHERE t.\(SQLNames.instanceIDColumn) = changed.id
                RETURNING t.\(SQLNames.instanceIDColumn) AS id, t.\(column)::text AS new)
            SELECT u.id, c.old, u.new, i.path,
                   EXISTS (SELECT 1 FROM cimdb.property_source p WHERE p.instance_id = u.id AND p.property_name = $3) AS known
            FROM updated u JOIN changed c ON c.id = u.id JOIN cimdb.instance i ON i.id = u.id
            """, [SQLValue(array: updates.map { String($0.id) }), SQLValue(array: updates.map(\.value.text)), SQLValue(property.name)])
        guard !changed.isEmpty else { return }
        summary.changed = changed.count
        for row in changed where row.bool("known") == true || row["old"] != nil {
            events.add(node, "changed", cls.name, row["path"] ?? "", severity: severity, property: property.name, old: row["old"], new: row["new"])
        }
        try connection.execute("""
            INSERT INTO cimdb.property_source (instance_id, property_name, node, updated_at)
            SELECT unnest($1::bigint[]), $2, $3, now()
            ON CONFLICT (instance_id, property_name) DO UPDATE SET node = EXCLUDED.node, updated_at = EXCLUDED.updated_at
            """, [SQLValue(array: changed.compactMap { $0["id"] }), SQLValue(property.name), SQLValue(node)])
    }
}
