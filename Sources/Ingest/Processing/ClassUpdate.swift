
/// The values a round of update results gives for the instances of one class, written with a
/// single statement: the rows whose values differ are updated once (all their changed
/// properties together, so a row gets one new version however many properties changed), and
/// the same statement records each changed value's provenance and its change event.
import CIM
import ORM
import SQLCore
import Store
import ModelStore
import Inventory
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

    /// The statement: `$1` ids, `$2` nodes, `$3` the class name, `$4` instance paths, then per
    /// property `i` (from 0) `$(5+4i)` whether the row gives it, `$(6+4i)` the value, `$(7+4i)`
    /// the severity and `$(8+4i)` the property's name.
    var statement: String {
        let id = SQLNames.quoted(SQLNames.instanceIDColumn)
        var inputs = ["$1::bigint[]", "$2::text[]", "$4::text[]"], names = ["id", "node", "path"]
        var diffs: [String] = [], anyChange: [String] = [], sets: [String] = [], cells: [String] = []
        for (i, property) in properties.enumerated() {
            let p = 5 + 4 * i
            let col = SQLNames.quoted(property.column), type = property.columnType.sql
            inputs += ["$\(p)::boolean[]", "$\(p + 1)::text[]", "$\(p + 2)::text[]"]
            names += ["h\(i)", "v\(i)", "s\(i)"]
            diffs.append("input.h\(i) AND t.\(col) IS DISTINCT FROM input.v\(i)::\(type) AS d\(i), t.\(col)::text AS o\(i), input.v\(i)::\(type) AS n\(i), input.s\(i)")
            anyChange.append("d\(i)")
            sets.append("\(col) = CASE WHEN changed.d\(i) THEN changed.n\(i) ELSE t.\(col) END")
            cells.append("($\(p + 3)::text, changed.d\(i), changed.o\(i), changed.n\(i)::text, changed.s\(i))")
        }
        return """
            WITH input AS (SELECT * FROM unnest(\(inputs.joined(separator: ", "))) AS u (\(names.joined(separator: ", ")))),
            diff AS (
                SELECT t.\(id) AS id, input.node, input.path, \(diffs.joined(separator: ",\n           "))
                FROM \(cls.qualifiedTable) t JOIN input ON t.\(id) = input.id),
            changed AS (SELECT * FROM diff WHERE \(anyChange.joined(separator: " OR "))),
            updated AS (
                UPDATE \(cls.qualifiedTable) t SET \(sets.joined(separator: ", "))
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
                SELECT node, 'changed', $3, path, property, old, new, severity::cimdb.severity
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
        var parameters = [SQLValue(array: rows.map { String($0.id) }), SQLValue(array: rows.map(\.node)), SQLValue(cls.name), SQLValue(array: rows.map(\.path))]
        for (i, property) in properties.enumerated() {
            parameters.append(SQLValue(array: rows.map { $0.cells[i] == nil ? "f" : "t" }))
            parameters.append(SQLValue(array: rows.map { $0.cells[i]?.value }))
            parameters.append(SQLValue(array: rows.map { $0.cells[i]?.severity.rawValue }))
            parameters.append(SQLValue(property.name))
        }
        var tallies: [String: Tally] = [:]
        var nullChanges: [(id: Int64, property: String)] = []
        for row in try connection.execute(statement, parameters) {
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
    func eventsOfNullChanges(_ changes: [(id: Int64, property: String)], on connection: Connection) throws -> [(id: Int64, node: String, property: String)] {
        guard !changes.isEmpty else { return [] }
        var events: [(id: Int64, node: String, property: String)] = []
        for (c, property) in properties.enumerated() {
            let ids = Set(changes.filter { sameName($0.property, property.name) }.map(\.id))
            let changed = rows.filter { ids.contains($0.id) && $0.cells[c].map { $0.severity != .none } == true }
            guard !changed.isEmpty else { continue }
            for row in try connection.execute("""
                INSERT INTO cimdb.event (node, kind, class_name, instance_path, property, old_value, new_value, severity)
                SELECT u.node, 'changed', $1, u.path, $2, NULL, u.value::\(property.columnType.sql)::text, u.severity::cimdb.severity
                FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS u (node, path, value, severity)
                RETURNING id, node
                """, [SQLValue(cls.name), SQLValue(property.name), SQLValue(array: changed.map(\.node)), SQLValue(array: changed.map(\.path)),
                      SQLValue(array: changed.map { $0.cells[c]!.value }), SQLValue(array: changed.map { $0.cells[c]!.severity.rawValue })]) {
                if let id = row.int64(0), let node = row.string(1) { events.append((id, node, property.name)) }
            }
        }
        return events
    }
}
