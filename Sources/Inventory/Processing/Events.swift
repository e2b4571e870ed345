import Store

/// Change events (`cimdb.event`), collected while a result is applied and written together,
/// then announced with NOTIFY cimdb_event.
struct EventBatch {
    struct Event {
        var node: String
        var kind: String
        var className: String
        var path: String
        var property: String?
        var old: String?
        var new: String?
        var severity: Severity
    }

    var events: [Event] = []

    mutating func add(_ node: String, _ kind: String, _ className: String, _ path: String, severity: Severity,
                      property: String? = nil, old: String? = nil, new: String? = nil) {
        guard severity != .none else { return }
        events.append(Event(node: node, kind: kind, className: className, path: path, property: property, old: old, new: new, severity: severity))
    }

    /// Writes the events and notifies listeners (`{"first": id, "last": id, "count": n}`);
    /// returns how many were written.
    @discardableResult
    func write(on connection: Connection) throws -> Int {
        guard !events.isEmpty else { return 0 }
        let row = try connection.execute("""
            WITH written AS (
                INSERT INTO cimdb.event (node, kind, class_name, instance_path, property, old_value, new_value, severity)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::cimdb.severity[])
                RETURNING id)
            SELECT min(id) AS first, max(id) AS last, count(*) AS n FROM written
            """, [
                SQLValue(array: events.map(\.node)), SQLValue(array: events.map(\.kind)), SQLValue(array: events.map(\.className)),
                SQLValue(array: events.map(\.path)), SQLValue(array: events.map(\.property)), SQLValue(array: events.map(\.old)),
                SQLValue(array: events.map(\.new)), SQLValue(array: events.map(\.severity.rawValue)),
            ]).first
        let first = row?["first"] ?? "0", last = row?["last"] ?? "0"
        try connection.execute("SELECT pg_notify('cimdb_event', $1)", [SQLValue("{\"first\":\(first),\"last\":\(last),\"count\":\(events.count)}")])
        return events.count
    }
}
