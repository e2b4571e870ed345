import ModelStore
import ORM
public import SQLCore
public import Store

/// Adding, listing and removing the inventory's feeds (`cimdb proxy feed`).
public enum Feeds {
    public enum Failure: Error, CustomStringConvertible, Equatable, Sendable {
        case unknownClass(String)

        public var description: String {
            switch self {
            case .unknownClass(let name): "unknown class \(name) (not in the installed model)"
            }
        }
    }

    /// A feed of `what` (`events` or `export`) for a class and its subclasses (nil: every class)
    /// and a node (nil: every node), from the next change on (or from the first, `fromStart`).
    /// Its id. The table's checks refuse a precedence other than urgent, normal or bulk.
    public static func add(
        what: String, className: String?, node: String?, precedence: String, ttlSeconds: Int?, fromStart: Bool, on c: Connection
    ) throws -> Int64 {
        var canonical: String?
        if let className {
            guard let name = try ModelCatalog.installedName(of: className, on: c) else {
                throw Failure.unknownClass(className)
            }
            canonical = name
        }
        let ttl = ttlSeconds.map { "\($0) seconds" }
        return try c.execute(
            """
            INSERT INTO cimdb.proxy_feed (what, class_name, node, precedence, ttl, forwarded_through)
            VALUES (\(what), \(canonical), \(node), \(precedence), \(ttl)::interval,
                    CASE WHEN \(fromStart) THEN 0 ELSE (SELECT coalesce(max(id), 0) FROM cimdb.event) END)
            RETURNING id
            """
        ).first?.int64("id") ?? 0
    }

    /// Removes a feed; false when there was none with that id.
    public static func remove(_ id: Int64, on c: Connection) throws -> Bool {
        try c.execute("DELETE FROM cimdb.proxy_feed WHERE id = \(id)").affectedRows > 0
    }

    /// `report.proxy_feeds`, as rows.
    public static func list(on c: Connection) throws -> QueryResult {
        try c.execute(
            """
            SELECT id, what, class, node, precedence, coalesce(ttl::text, '-') AS ttl, forwarded_through, events_newer, events_forwarded,
                   messages_queued, coalesce(last_error, '-') AS last_error
            FROM report.proxy_feeds
            """)
    }
}
