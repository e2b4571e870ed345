public import AgentProtocol
import Foundation
import SQLCore
public import Store

/// What servers do with the task tables, through the functions of migration 0010 that keep
/// the rules (the limits over all servers, all-or-none, state transitions): hand work to the
/// agents waiting on this server, record what they report.
public enum TaskWorkQueries {
    /// Work for the agents that wait on `server` (by `cimdb.task_agent`): runs and kills, per
    /// node. `seen`: the nodes whose poll is to be recorded here.
    ///
    /// Not a durable commit: a hand-over lost with the database's last transactions leaves its
    /// targets waiting, to be handed over again; an agent that did get them runs each once
    /// (it keeps a record of every target it accepted).
    public static func claim(server: String, seen: [String], on c: Connection) throws -> [String: TaskWork] {
        var work: [String: TaskWork] = [:]
        try c.transaction { c in
            for row in try c.execute("SELECT * FROM cimdb.claim_task_work(\(server), \(seen))") {
                guard let node = row["node"], let task = row.int64("task") else { continue }
                let target = TaskTargetID(task: task, node: node)
                if row["kind"] == "kill" {
                    work[node, default: TaskWork()].kills.append(target)
                    continue
                }
                guard let run = try run(target, row) else { continue }
                work[node, default: TaskWork()].runs.append(run)
            }
        }
        return work
    }

    /// Upkeep, once a second: hand-overs never acknowledged, agents gone quiet.
    public static func upkeep(on c: Connection) throws {
        try c.execute("SELECT cimdb.task_upkeep()")
    }

    /// Hands back runs whose agent did not come back for them: they wait for the next poll
    /// (anywhere) instead of the 15 s of an unacknowledged hand-over.
    public static func release(_ targets: [TaskTargetID], server: String, on c: Connection) throws {
        guard !targets.isEmpty else { return }
        try c.execute(
            """
            UPDATE cimdb.task_target t SET claimed_by = NULL, claimed_at = NULL, deliveries = greatest(t.deliveries - 1, 0)
            FROM unnest(\(targets.map(\.task)), \(targets.map(\.node))) AS r(task, node)
            WHERE t.task = r.task AND t.node = r.node AND t.state = 'PENDING' AND t.claimed_by = \(server)
            """)
    }

    /// Records a report; returns the target's state afterwards.
    public static func report(_ report: TaskReport, node: String, server: String, on c: Connection) throws -> String {
        try c.transaction(durable: true) { c in
            let started = report.startedMilliseconds.map { Double($0) / 1000 }
            let finished = report.finishedMilliseconds.map { Double($0) / 1000 }
            let row = try c.execute(
                """
                SELECT cimdb.report_task_target(\(report.target.task), \(node), \(server), \(report.state.rawValue),
                    \(report.cause?.rawValue), \(report.detail), \(report.exitCode.map { Int($0) }),
                    \(report.stdout.map { Bytea($0.kept) }), \(report.stderr.map { Bytea($0.kept) }),
                    \(report.stdout?.totalBytes), \(report.stderr?.totalBytes), \(report.stdout?.truncated), \(report.stderr?.truncated),
                    \(report.bytesCopied), to_timestamp(\(started)), to_timestamp(\(finished))) AS state
                """
            ).first
            return row?["state"] ?? "unknown"
        }
    }

    static func run(_ target: TaskTargetID, _ row: Row) throws -> TaskRun? {
        guard let definitionText = row["definition"],
            let definition = try JSONSerialization.jsonObject(with: Data(definitionText.utf8)) as? [String: Any]
        else { return nil }
        var files: [TaskRun.File] = []
        if let filesText = row["files"] {
            files = try JSONDecoder().decode([TaskRun.File].self, from: Data(filesText.utf8))
        }
        return TaskRun(
            target: target, tool: definition["tool"] as? String ?? "",
            argv: definition["argv"] as? [String], shell: definition["shell"] as? String,
            environment: definition["environment"] as? [String: String] ?? [:],
            targets: (row.stringArray("targets") ?? []).compactMap { $0 }, files: files,
            timeoutMilliseconds: (definition["timeout_ms"] as? NSNumber)?.int64Value ?? 600_000,
            outputCap: (definition["output_cap"] as? NSNumber)?.intValue ?? 1 << 20)
    }
}
