import CIM
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// Change events (`cimdb.event`): collected while a batch is applied, written together with one
/// COPY, and announced with one NOTIFY cimdb_event when the batch commits.
///
/// Update processing writes its value-change events in SQL (the old and new values never leave
/// the database); those are added with ``record(first:last:count:)`` so that the notification
/// covers them too.
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
    /// Events already written (by SQL), as an id range and a count.
    private(set) var written: (first: Int64, last: Int64, count: Int)?

    mutating func add(
        _ node: String, _ kind: String, _ className: String, _ path: String, severity: Severity,
        property: String? = nil, old: String? = nil, new: String? = nil
    ) {
        guard severity != .none else { return }
        events.append(Event(node: node, kind: kind, className: className, path: path, property: property, old: old, new: new, severity: severity))
    }

    mutating func record(first: Int64, last: Int64, count: Int) {
        guard count > 0 else { return }
        if let w = written {
            written = (min(w.first, first), max(w.last, last), w.count + count)
        } else {
            written = (first, last, count)
        }
    }

    /// Writes the collected events (ids reserved from the table's identity, then one COPY).
    /// The ids are taken under the lock that orders them by commit (migration 0009).
    mutating func write(on connection: Connection) throws {
        guard !events.isEmpty else { return }
        try connection.execute("SELECT cimdb.lock_event_order()")
        let ids = try connection.execute("SELECT nextval('cimdb.event_id_seq') AS id FROM generate_series(1, \(events.count))").compactMap {
            $0.int64(0)
        }
        try connection.copyIn("COPY cimdb.event (id, node, kind, class_name, instance_path, property, old_value, new_value, severity) FROM STDIN") {
            writer in
            for (event, id) in zip(events, ids) {
                writer.appendRow([
                    String(id), event.node, event.kind, event.className, event.path, event.property, event.old, event.new, event.severity.rawValue,
                ])
            }
        }
        record(first: ids.first ?? 0, last: ids.last ?? 0, count: ids.count)
        events.removeAll()
    }

    /// Writes what is left and notifies listeners (`{"first": id, "last": id, "count": n}`);
    /// returns how many events the batch wrote.
    @discardableResult
    mutating func finish(on connection: Connection) throws -> Int {
        try write(on: connection)
        guard let written else { return 0 }
        try connection.execute(
            "SELECT pg_notify('cimdb_event', \(SQLValue("{\"first\":\(written.first),\"last\":\(written.last),\"count\":\(written.count)}")))")
        return written.count
    }
}
