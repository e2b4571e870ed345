import AgentProtocol
import CommandSupport
import Logging
import SQLCore
import Store

/// The server's periodic work on the shared database. Several servers may do it at once: each
/// chore is safe to run concurrently.
enum Chores {
    /// Nonces older than any acceptable timestamp can go: a replay of their request is refused
    /// for its timestamp anyway.
    static func forgetOldNonces(pool: ConnectionPool) async throws {
        let keep = Double(RequestSignature.allowedSkewMilliseconds) * 2 / 1000 + 60
        try await pool.withConnection { connection in
            try connection.execute("DELETE FROM cimdb.request_nonce WHERE seen_at < now() - make_interval(secs => \(keep))")
        }
    }

    /// Recomputes the nodes whose stored report aggregates ingest marked dirty
    /// (`report.refresh_node_hardware`, sql/reports.sql), a thousand per transaction; returns
    /// how many. The views are exact without it (they compute dirty nodes live); this keeps them
    /// fast. A refresh skips nodes another server holds.
    @discardableResult
    static func refreshReportAggregates(pool: ConnectionPool) async throws -> Int {
        let batch = 1_000
        var refreshed = 0
        while !Task.isCancelled {
            let count = try await pool.withConnection { c in
                try c.execute("SELECT report.refresh_node_hardware(\(batch))").first?.int(0) ?? 0
            }
            refreshed += count
            if count < batch { break }
        }
        return refreshed
    }

    /// Runs `chore` every `period` until the task is cancelled. A failure is logged once, and not
    /// again until the chore has worked since (a database that is down, reports not installed).
    static func repeatedly(every period: Duration, _ what: String, logger: Logger, _ chore: () async throws -> Void) async {
        var failing = false
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: period)
                try await chore()
                failing = false
            } catch is CancellationError {
                return
            } catch {
                if !failing { logger.warning("could not \(what): \(detailed: error)") }
                failing = true
            }
        }
    }
}
