import AgentProtocol
import Inventory
import SQLCore
import Store

/// What the database says a node runs.
enum AssignmentQueries {
    /// The discovery monitors targeting the node (by name, by a group it belongs to, or `*`),
    /// with their settings as deployed, and the update monitors deployed on it.
    static func assignments(of node: String, on connection: Connection) throws -> Assignments {
        var discovery: [Assignments.Discovery] = []
        for row in try connection.execute(
            """
            SELECT name, period_ms, timeout_ms, snapshot::text AS snapshot FROM cimdb.discovery_monitor m
            WHERE '*' = ANY (m.targets) OR \(node) = ANY (m.targets)
               OR EXISTS (SELECT 1 FROM cimdb.node_group_member g WHERE g.node = \(node) AND g.group_name = ANY (m.targets))
            ORDER BY name
            """)
        {
            guard let name = row["name"], let snapshot = row["snapshot"].flatMap(MonitorSnapshot.decode) else { continue }
            discovery.append(
                .init(
                    monitor: name, periodMilliseconds: row.int64("period_ms") ?? 0,
                    timeoutMilliseconds: row.int64("timeout_ms") ?? 0, settings: snapshot.settings))
        }
        let updates = try connection.execute(
            """
            SELECT settings, property_name, update_script, update_period_ms, update_timeout_ms FROM cimdb.update_deployment
            WHERE node = \(node) ORDER BY settings, property_name
            """
        ).compactMap { row -> Assignments.Update? in
            guard let settings = row["settings"], let property = row["property_name"], let script = row["update_script"] else { return nil }
            return .init(
                settings: settings, property: property, script: script,
                periodMilliseconds: row.int64("update_period_ms") ?? 0, timeoutMilliseconds: row.int64("update_timeout_ms") ?? 0)
        }
        return Assignments(discovery: discovery, updates: updates)
    }

    static func script(_ hash: String, on connection: Connection) throws -> [UInt8]? {
        try connection.execute("SELECT content FROM cimdb.script WHERE hash = \(hash)").first?.bytes("content")
    }
}
