import Logging
import Store

/// Keeps the stored parts of the report views current: every few seconds, recomputes the
/// nodes whose hardware aggregates ingest marked dirty (`report.refresh_node_hardware`, in
/// sql/reports.sql), a thousand per transaction. The views are exact without it (they compute
/// dirty nodes live); this keeps them fast. Several servers share the work: each refresh skips
/// nodes another one holds.
struct ReportMaintenance {
    let pool: ConnectionPool
    let logger: Logger
    var pause: Duration = .seconds(2)
    static let batch = 1_000

    func run() async {
        var warned = false
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: pause)
                var refreshed = 0
                while true {
                    let count = try await pool.withConnection { c in
                        try c.execute("SELECT report.refresh_node_hardware($1)", [SQLValue(Self.batch)]).first?.int(0) ?? 0
                    }
                    refreshed += count
                    if count < Self.batch || Task.isCancelled { break }
                }
                if refreshed > 0 { logger.debug("report.node_hardware: \(refreshed) nodes recomputed") }
                warned = false
            } catch is CancellationError {
                return
            } catch {
                // Logged once until it works again (say, reports not installed: run cimdb migrate).
                if !warned { logger.warning("could not refresh the report aggregates: \(error)") }
                warned = true
            }
        }
    }
}
