import Foundation
import SQLCore
public import Store
public import Tasks

/// What people do with tasks (`cimdb task …`), through the functions that check the rules:
/// the session's role is the user.
public enum TaskQueries {
    /// A submission the database refused: the reason, the targets concerned (the not enrolled
    /// or not authorized ones) and a hint (the roles that would allow it).
    public struct Refusal: Error, CustomStringConvertible {
        public var message: String
        public var targets: NodeSet
        public var hint: String?

        public var description: String {
            var text = message
            if !targets.isEmpty { text += ": \(targets)" }
            if let hint { text += "\n(\(hint))" }
            return text
        }
    }

    /// Submits a task; its id. Throws ``Refusal`` when validation or authorization fails:
    /// then nothing was created.
    public static func submit(tool: String, nodes: NodeSet, groups: [String], arguments: [String: String], on c: Connection) throws -> Int64 {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: arguments, options: [.sortedKeys]), as: UTF8.self)
        let result: QueryResult
        do {
            result = try c.execute("SELECT cimdb.submit_task(\(tool), \(nodes.names), \(groups), \(json)::jsonb) AS id")
        } catch {
            guard error.kind == .query else { throw error }
            let targets = NodeSet((error.detail ?? "").split(separator: "\n").map(String.init))
            throw Refusal(message: error.message, targets: targets, hint: error.hint)
        }
        guard let id = result.first?.int64("id") else { throw Refusal(message: "the database returned no task id", targets: NodeSet()) }
        return id
    }

    /// Cancels (pending targets end CANCELLED) or kills (running ones are killed too); the
    /// task's state afterwards.
    public static func stop(_ id: Int64, kill: Bool, on c: Connection) throws -> String {
        let result: QueryResult
        do {
            result = try c.execute("SELECT cimdb.stop_task(\(id), \(kill)) AS state")
        } catch {
            guard error.kind == .query else { throw error }
            throw Refusal(message: error.message, targets: NodeSet(), hint: error.hint)
        }
        return result.first?["state"] ?? "unknown"
    }

    public struct Summary: Sendable {
        public var id: Int64
        public var tool: String
        public var user: String
        public var state: String
        public var targets: Int
        /// Targets per state.
        public var counts: [String: Int]
        public var created: String?
        public var started: String?
        public var finished: String?

        public var isFinal: Bool { !["PENDING", "RUNNING"].contains(state) }

        /// `RUNNING: 3 COMPLETE, 1 RUNNING, 12 PENDING`.
        public var countsText: String {
            let order = ["PENDING", "COPYING", "RUNNING", "COMPLETE", "FAILED", "CANCELLED", "KILLED"]
            return order.compactMap { s in counts[s].map { "\($0) \(s)" } }.joined(separator: ", ")
        }
    }

    public static func summary(_ id: Int64, on c: Connection) throws -> Summary? {
        try summaries(where: "WHERE t.id = \(id)", on: c).first
    }

    public static func list(limit: Int, on c: Connection) throws -> [Summary] {
        try summaries(where: "", limit: limit, on: c)
    }

    static func summaries(where filter: SQL, limit: Int = 1, on c: Connection) throws -> [Summary] {
        try c.execute(
            """
            SELECT t.id, t.tool, t.user_name, t.state, to_char(t.created, 'YYYY-MM-DD HH24:MI:SS.MS') AS created,
                   to_char(t.started, 'YYYY-MM-DD HH24:MI:SS.MS') AS started, to_char(t.finished, 'YYYY-MM-DD HH24:MI:SS.MS') AS finished,
                   t.targets,
                   (SELECT string_agg(x.state || '=' || x.n, ',') FROM (SELECT state, count(*) AS n FROM report.task_targets
                        WHERE task = t.id GROUP BY state) x) AS counts
            FROM report.tasks t \(filter) ORDER BY t.id DESC LIMIT \(limit)
            """
        ).map { row in
            var counts: [String: Int] = [:]
            for pair in (row["counts"] ?? "").split(separator: ",") {
                let parts = pair.split(separator: "=")
                if parts.count == 2 { counts[String(parts[0])] = Int(parts[1]) }
            }
            return Summary(
                id: row.int64("id") ?? 0, tool: row["tool"] ?? "", user: row["user_name"] ?? "", state: row["state"] ?? "",
                targets: row.int("targets") ?? 0, counts: counts, created: row["created"], started: row["started"], finished: row["finished"])
        }
    }

    /// Every target's outcome with its outputs (or one node's).
    public static func outcomes(_ id: Int64, node: String? = nil, on c: Connection) throws -> [TargetOutcome] {
        try c.execute(
            """
            SELECT node, state, failure_cause, exit_code, stdout_bytes, stderr_bytes
            FROM report.task_targets WHERE task = \(id) AND (\(node)::text IS NULL OR node = \(node)) ORDER BY node
            """
        ).map { row in
            TargetOutcome(
                node: row["node"] ?? "", state: row["state"] ?? "", failureCause: row["failure_cause"],
                exitCode: row.int("exit_code").map { Int32($0) }, stdout: row.bytes("stdout_bytes") ?? [], stderr: row.bytes("stderr_bytes") ?? [])
        }
    }

    /// The task's transitions, in order: time, node (empty for the task), state, cause.
    public static func log(_ id: Int64, on c: Connection) throws -> [[String?]] {
        try c.execute(
            """
            SELECT time::text, coalesce(node, '(task)') AS node, state, cause, server FROM report.task_log WHERE task = \(id) ORDER BY id
            """
        ).map { row in [row["time"], row["node"], row["state"], row["cause"], row["server"]] }
    }
}
