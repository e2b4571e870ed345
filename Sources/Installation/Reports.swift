import Migrations
import SQLCore
public import Store

/// The report schema and the roles that read it (hand-written; `Reports.swift` beside it is
/// generated from `sql/reports.sql`).
public enum Reports {
    /// Rebuilds schema `report` from `sql/reports.sql` (dropped and created again: views follow
    /// the file, whatever they were) and gives the reader roles their grants back.
    public static func install(on connection: Connection) throws {
        try connection.transaction { c in
            try c.execute("DROP SCHEMA IF EXISTS report CASCADE")
            try c.executeScript(.verbatim(EmbeddedReports.sql))
            for row in try c.execute("SELECT name FROM cimdb.reader_role ORDER BY name") {
                guard let role = row.string(0) else { continue }
                // A role dropped since is forgotten rather than failing every migration.
                guard try exists(role, on: c) else {
                    try c.execute("DELETE FROM cimdb.reader_role WHERE name = \(role)")
                    continue
                }
                try grant(role, on: c)
            }
        }
        // The stored aggregates start empty with every node dirty: computed now, so that the
        // reports are fast from the start (about two seconds at 10,000 nodes).
        try refreshAggregates(on: connection)
    }

    /// Recomputes every node whose stored report aggregates are out of date (what `cimdb
    /// server` does every few seconds); returns how many.
    @discardableResult
    public static func refreshAggregates(on connection: Connection) throws -> Int {
        try connection.execute("SELECT report.refresh_node_hardware(2147483647)").first?.int(0) ?? 0
    }

    /// What a reader may read: the model (schema `cim`, the registry of instance paths and the
    /// model catalog with its ValueMaps) and the report views — not the configuration, its
    /// scripts, the raw results or anything else in schema `cimdb`. Nothing may be written.
    public static func grantReader(_ role: String, on connection: Connection) throws {
        guard try exists(role, on: connection) else {
            throw ReaderError(message: "role \(role) does not exist (create it first, e.g. CREATE ROLE \(role) LOGIN PASSWORD '…')")
        }
        try connection.transaction { c in
            try grant(role, on: c)
            try c.execute("INSERT INTO cimdb.reader_role (name) VALUES (\(role)) ON CONFLICT (name) DO NOTHING")
        }
    }

    static func exists(_ role: String, on c: Connection) throws -> Bool {
        try c.execute("SELECT 1 FROM pg_roles WHERE rolname = \(role)").first != nil
    }

    static func grant(_ role: String, on c: Connection) throws {
        let r = SQLIdentifier(role)
        try c.executeScript(
            """
            GRANT USAGE ON SCHEMA cim, cimdb, report TO \(r);
            GRANT SELECT ON ALL TABLES IN SCHEMA cim TO \(r);
            GRANT SELECT ON ALL TABLES IN SCHEMA report TO \(r);
            GRANT EXECUTE ON FUNCTION report.node_hardware_of(text[]) TO \(r);
            GRANT SELECT ON cimdb.instance, cimdb.model_class, cimdb.model_property, cimdb.value_map TO \(r);
            ALTER DEFAULT PRIVILEGES IN SCHEMA cim GRANT SELECT ON TABLES TO \(r);
            """)
    }

    public struct ReaderError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}
