import ORM
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
    }

    init(cls: ClassMapping) { self.cls = cls }

    mutating func set(_ id: Int64, _ property: PropertyMapping, to value: String?, node: String, severity: Severity) {
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
            rows.append(Row(id: id, node: node, cells: Array(repeating: nil, count: properties.count)))
        }
        rows[r].node = node
        rows[r].cells[c] = Cell(value: value, severity: severity)
    }

    /// The statement: `$1` ids, `$2` nodes, `$3` the class name, then per property `i` (from 0)
    /// `$(4+4i)` whether the row gives it, `$(5+4i)` the value, `$(6+4i)` the severity and
    /// `$(7+4i)` the property's name.
    var statement: String {
        let id = SQLNames.quoted(SQLNames.instanceIDColumn)
        var inputs = ["$1::bigint[]", "$2::text[]"], names = ["id", "node"]
        var diffs: [String] = [], anyChange: [String] = [], sets: [String] = [], cells: [String] = []
        for (i, property) in properties.enumerated() {
            let p = 4 + 4 * i
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
                SELECT t.\(id) AS id, input.node, \(diffs.joined(separator: ",\n           "))
                FROM \(cls.qualifiedTable) t JOIN input ON t.\(id) = input.id),
            changed AS (SELECT * FROM diff WHERE \(anyChange.joined(separator: " OR "))),
            updated AS (
                UPDATE \(cls.qualifiedTable) t SET \(sets.joined(separator: ", "))
                FROM changed WHERE t.\(id) = changed.id),
            cells AS (
                SELECT changed.id, changed.node, v.property, v.old, v.new, v.severity
                FROM changed CROSS JOIN LATERAL (VALUES \(cells.joined(separator: ", "))) AS v (property, d, old, new, severity)
                WHERE v.d),
            provenance AS (
                INSERT INTO cimdb.property_source (instance_id, property_name, node, updated_at)
                SELECT id, property, node, now() FROM cells
                ON CONFLICT (instance_id, property_name) DO UPDATE SET node = EXCLUDED.node, updated_at = EXCLUDED.updated_at),
            events AS (
                INSERT INTO cimdb.event (node, kind, class_name, instance_path, property, old_value, new_value, severity)
                SELECT cells.node, 'changed', $3, i.path, cells.property, cells.old, cells.new, cells.severity::cimdb.severity
                FROM cells JOIN cimdb.instance i ON i.id = cells.id
                WHERE cells.severity <> 'none'
                  AND (cells.old IS NOT NULL
                       OR EXISTS (SELECT 1 FROM cimdb.property_source p WHERE p.instance_id = cells.id AND p.property_name = cells.property))
                RETURNING id, node, property)
            SELECT node, property, count(*) AS n, NULL::bigint AS first, NULL::bigint AS last, false AS is_event FROM cells GROUP BY node, property
            UNION ALL
            SELECT node, property, count(*), min(id), max(id), true FROM events GROUP BY node, property
            """
    }

    /// Writes the changed values; returns what changed, per node and property.
    func apply(on connection: Connection) throws -> [Tally] {
        guard !rows.isEmpty else { return [] }
        var parameters = [SQLValue(array: rows.map { String($0.id) }), SQLValue(array: rows.map(\.node)), SQLValue(cls.name)]
        for (i, property) in properties.enumerated() {
            parameters.append(SQLValue(array: rows.map { $0.cells[i] == nil ? "f" : "t" }))
            parameters.append(SQLValue(array: rows.map { $0.cells[i]?.value }))
            parameters.append(SQLValue(array: rows.map { $0.cells[i]?.severity.rawValue }))
            parameters.append(SQLValue(property.name))
        }
        var tallies: [String: Tally] = [:]
        for row in try connection.execute(statement, parameters) {
            guard let node = row.string(0), let property = row.string(1), let n = row.int(2) else { continue }
            let key = node + "\u{0}" + property
            var tally = tallies[key] ?? Tally(node: node, property: property)
            if row.bool(5) == true {
                tally.events += n
                tally.firstEvent = row.int64(3)
                tally.lastEvent = row.int64(4)
            } else {
                tally.changed += n
            }
            tallies[key] = tally
        }
        return tallies.values.sorted { ($0.node, $0.property) < ($1.node, $1.property) }
    }
}
