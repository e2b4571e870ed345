import CIM
public import ORM
import SQLCore
public import Store

/// The next inventory change events for a reader that remembers the last event id it
/// handled (a subscription, a proxy feed), as one CIM-XML export message. Event ids are visible
/// in commit order (migration 0009), so "after the last id" misses none.
public enum ChangeExport {
    /// The events a reader wants: after `through`, of these classes (nil: every class) and
    /// this node (nil: every node), at most `limit`, none beyond `horizon`.
    public struct Selection: Sendable {
        public var through: Int64
        public var classes: [String]?
        public var node: String?
        public var horizon: Int64
        public var limit: Int

        public init(through: Int64, classes: [String]?, node: String?, horizon: Int64, limit: Int) {
            self.through = through
            self.classes = classes
            self.node = node
            self.horizon = horizon
            self.limit = limit
        }
    }

    /// One event as read, with the instance's current `INSTANCE` element when it still exists.
    public struct Event: Sendable {
        public var change: ChangeEvent
        public var node: String?
        public var className: String
        /// ISO 8601 UTC.
        public var isoTime: String
        public var property: String?
        public var oldValue: String?
        public var newValue: String?
    }

    /// The newest event id (the horizon a reader reads up to, so that a batch is a snapshot).
    public static func horizon(on c: Connection) throws -> Int64 {
        try c.execute("SELECT coalesce(max(id), 0) AS id FROM cimdb.event").first?.int64("id") ?? 0
    }

    /// The class and its subclasses, as `cimdb.event.class_name` holds them.
    public static func classes(_ filter: String?, in catalog: ModelCatalog) -> [String]? {
        filter.map { filter in catalog.classes.filter { catalog.isClass($0.name, kindOf: filter) }.map(\.name) }
    }

    /// The events selected, in id order, each with its instance's current element.
    public static func events(_ selection: Selection, exporter: CIMXMLExporter, on c: Connection) throws -> [Event] {
        let rows = try c.execute(
            """
            SELECT id, to_char(time AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS.US') || '+000' AS time,
                   to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS iso_time, kind, instance_path, severity,
                   node, class_name, property, old_value, new_value,
                   (SELECT i.id FROM cimdb.instance i WHERE i.path = e.instance_path) AS instance_id
            FROM cimdb.event e
            WHERE e.id > \(selection.through) AND e.id <= \(selection.horizon) AND (\(selection.classes) IS NULL OR e.class_name = ANY (\(selection.classes)))
              AND (\(selection.node)::text IS NULL OR e.node = \(selection.node))
            ORDER BY e.id LIMIT \(selection.limit)
            """)
        let current = try exporter.instanceElements(ids: rows.compactMap { $0.int64("instance_id") }, on: c)
        return rows.map { row in
            Event(
                change: ChangeEvent(
                    id: row.int64("id") ?? 0, time: row["time"] ?? "", kind: row["kind"] ?? "", instancePath: row["instance_path"] ?? "",
                    severity: row["severity"] ?? "info", sourceInstance: row.int64("instance_id").flatMap { current[$0] }),
                node: row["node"], className: row["class_name"] ?? "", isoTime: row["iso_time"] ?? "", property: row["property"],
                oldValue: row["old_value"], newValue: row["new_value"])
        }
    }
}
