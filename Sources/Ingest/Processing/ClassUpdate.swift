import CIM
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// The values a round of update results gives for the instances of one class, written with a
/// single statement: the rows whose values differ are updated once (all their changed
/// properties together, so a row gets one new version however many properties changed), and
/// the same statement records each changed value's provenance and its change event.
struct ClassUpdate {
    let cls: ClassMapping
    private(set) var properties: [PropertyMapping] = []
    private var column: [String: Int] = [:]
    /// Per instance (in first-seen order): the node it came from and, per property, the value's
    /// SQL text and the event severity.
    private(set) var rows: [Row] = []
    private var rowOf: [Int64: Int] = [:]

    struct Row {
        var id: Int64
        var path: String
        var node: String
        var cells: [Cell?]
    }

    struct Cell {
        var value: String?
        var severity: Severity
    }

    /// Changed values and events per (node, property).
    struct Tally {
        var node: String
        var property: String
        var changed = 0
        var events = 0
        var firstEvent: Int64?
        var lastEvent: Int64?

        mutating func record(first: Int64?, last: Int64?) {
            if let first { firstEvent = min(firstEvent ?? first, first) }
            if let last { lastEvent = max(lastEvent ?? last, last) }
        }
    }

    init(cls: ClassMapping) { self.cls = cls }

    mutating func set(_ id: Int64, path: String, _ property: PropertyMapping, to value: String?, node: String, severity: Severity) {
        let c: Int
        if let existing = column[property.name] {
            c = existing
        } else {
            c = properties.count
            column[property.name] = c
            properties.append(property)
            for i in rows.indices { rows[i].cells.append(nil) }
        }
        let r: Int
        if let existing = rowOf[id] {
            r = existing
        } else {
            r = rows.count
            rowOf[id] = r
            rows.append(Row(id: id, path: path, node: node, cells: Array(repeating: nil, count: properties.count)))
        }
        rows[r].node = node
        rows[r].cells[c] = Cell(value: value, severity: severity)
    }

    /// The statement, over the rows and properties given so far.
    var statement: SQL {
        let id = SQLNames.instanceID
        var inputs: [SQL] = ["\(rows.map(\.id))", "\(rows.map(\.node))", "\(rows.map(\.path))"]
        var names = ["id", "node", "path"]
        var diffs: [SQL] = [], anyChange: [String] = [], sets: [SQL] = [], cells: [SQL] = []
        for (i, property) in properties.enumerated() {
            let col = property.sqlColumn, type = property.columnType.sqlType
            inputs += ["\(rows.map { $0.cells[i] != nil })", "\(rows.map { $0.cells[i]?.value })", "\(rows.map { $0.cells[i]?.severity.rawValue })"]
            names += ["h\(i)", "v\(i)", "s\(i)"]
            let (h, v, o, n, s, d) = (
                SQL.verbatim("h\(i)"), SQL.verbatim("v\(i)"), SQL.verbatim("o\(i)"), SQL.verbatim("n\(i)"),
                SQL.verbatim("s\(i)"), SQL.verbatim("d\(i)")
            )
            diffs.append(
                "input.\(h) AND t.\(col) IS DISTINCT FROM input.\(v)::\(type) AS \(d), t.\(col)::text AS \(o), input.\(v)::\(type) AS \(n), input.\(s)"
            )
            anyChange.append("d\(i)")
            sets.append("\(col) = CASE WHEN changed.\(d) THEN changed.\(n) ELSE t.\(col) END")
            cells.append("(\(property.name)::text, changed.\(d), changed.\(o), changed.\(n)::text, changed.\(s))")
        }
        return """
            WITH input AS (SELECT * FROM unnest(\(inputs.joined(separator: ", "))) AS u (\(SQL.verbatim(names.joined(separator: ", "))))),
            diff AS (
                SELECT t.\(id) AS id, input.node, input.path, \(diffs.joined(separator: ",\n           "))
                FROM \(cls.sqlTable) t JOIN input ON t.\(id) = input.id),
            changed AS (SELECT * FROM diff WHERE \(SQL.verbatim(anyChange.joined(separator: " OR ")))),
            updated AS (
                UPDATE \(cls.sqlTable) t SET \(sets.joined(separator: ", "))
                FROM changed WHERE t.\(id) = changed.id),
            cells AS (
                SELECT changed.id, changed.node, changed.path, v.property, v.old, v.new, v.severity
                FROM changed CROSS JOIN LATERAL (VALUES \(cells.joined(separator: ", "))) AS v (property, d, old, new, severity)
                WHERE v.d),
            -- Provenance of every changed value. Where the old value was NULL, whether the
            -- property had a value before decides whether the change is an event (the first
            -- value an update writes is not): those come back from the second insert.
            provenance AS (
                INSERT INTO cimdb.property_source (instance_id, property_name, node, updated_at)
                SELECT id, property, node, now() FROM cells WHERE old IS NOT NULL
                ON CONFLICT (instance_id, property_name) DO UPDATE SET node = EXCLUDED.node, updated_at = EXCLUDED.updated_at),
            provenance_of_null AS (
                INSERT INTO cimdb.property_source (instance_id, property_name, node, updated_at)
                SELECT id, property, node, now() FROM cells WHERE old IS NULL
                ON CONFLICT (instance_id, property_name) DO UPDATE SET node = EXCLUDED.node, updated_at = EXCLUDED.updated_at
                -- xmax is 0 on a row the statement inserted: the property's first value.
                RETURNING instance_id, property_name, xmax = 0 AS first),
            events AS (
                INSERT INTO cimdb.event (node, kind, class_name, instance_path, property, old_value, new_value, severity)
                SELECT node, 'changed', \(cls.name), path, property, old, new, severity::cimdb.severity
                FROM cells WHERE severity <> 'none' AND old IS NOT NULL
                RETURNING id, node, property)
            SELECT 0 AS what, node, property, count(*) AS n, NULL::bigint AS first, NULL::bigint AS last FROM cells GROUP BY node, property
            UNION ALL
            SELECT 1, node, property, count(*), min(id), max(id) FROM events GROUP BY node, property
            UNION ALL
            SELECT 2, NULL, property_name, 1, instance_id, NULL FROM provenance_of_null WHERE NOT first
            """
    }

    /// Writes the changed values; returns what changed, per node and property.
    func apply(on connection: Connection) throws -> [Tally] {
        guard !rows.isEmpty else { return [] }
        var tallies: [String: Tally] = [:]
        var nullChanges: [(id: Int64, property: String)] = []
        for row in try connection.execute(statement) {
            guard let what = row.int(0), let property = row.string(2), let n = row.int(3) else { continue }
            if what == 2 {
                if let id = row.int64(4) { nullChanges.append((id, property)) }
                continue
            }
            guard let node = row.string(1) else { continue }
            let key = node + "\u{0}" + property
            var tally = tallies[key] ?? Tally(node: node, property: property)
            if what == 1 {
                tally.events += n
                tally.record(first: row.int64(4), last: row.int64(5))
            } else {
                tally.changed += n
            }
            tallies[key] = tally
        }
        for event in try eventsOfNullChanges(nullChanges, on: connection) {
            let key = event.node + "\u{0}" + event.property
            var tally = tallies[key] ?? Tally(node: event.node, property: event.property)
            tally.events += 1
            tally.record(first: event.id, last: event.id)
            tallies[key] = tally
        }
        return tallies.values.sorted { ($0.node, $0.property) < ($1.node, $1.property) }
    }

    /// The change events of values that were NULL and had been set before (rare: a value that
    /// went away comes back), one statement per property.
    func eventsOfNullChanges(
        _ changes: [(id: Int64, property: String)], on connection: Connection
    ) throws -> [(id: Int64, node: String, property: String)] {
        guard !changes.isEmpty else { return [] }
        var events: [(id: Int64, node: String, property: String)] = []
        for (c, property) in properties.enumerated() {
            let ids = Set(changes.filter { sameName($0.property, property.name) }.map(\.id))
            let changed = rows.filter { ids.contains($0.id) && $0.cells[c].map { $0.severity != .none } == true }
            guard !changed.isEmpty else { continue }
            for row in try connection.execute(
                """
                INSERT INTO cimdb.event (node, kind, class_name, instance_path, property, old_value, new_value, severity)
                SELECT u.node, 'changed', \(cls.name), u.path, \(property.name), NULL, u.value::\(property.columnType.sqlType)::text, u.severity::cimdb.severity
                FROM unnest(\(changed.map(\.node)), \(changed.map(\.path)), \(changed.map { $0.cells[c]!.value }), \(changed.map { $0.cells[c]!.severity.rawValue })) AS u (node, path, value, severity)
                RETURNING id, node
                """)
            {
                if let id = row.int64(0), let node = row.string(1) { events.append((id, node, property.name)) }
            }
        }
        return events
    }
}
