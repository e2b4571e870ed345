import Foundation
import Testing

/// `cimdb bench ingest` runs every phase on a small fleet (in chunks and batches smaller than
/// the fleet), checks its own results, prints every figure, and drops its scratch databases.
/// The figures themselves are for release builds and the README, not for tests.
@Suite struct BenchCommandTests {
    @Test func benchIngestRunsEveryPhaseAndCleansUp() async throws {
        let fresh = try FreshHome(), env = fresh.env
        defer { fresh.remove() }
        let bench = try await cimdb(["bench", "ingest", "--nodes", "7", "--batch", "2", "--chunk", "4", "--workers", "2"], environment: env)
        #expect(bench.status == 0, "\(bench.standardError)")
        let output = bench.standardOutput
        for phase in [
            "first discovery", "first values", "rollout", "steady discovery", "steady updates", "raw COPY", "raw COPY + UPDATE", "client CPU",
        ] {
            #expect(output.contains(phase), "no \(phase) in:\n\(output)")
        }
        #expect(output.contains("cimdb at"), "ratios against the reference:\n\(output)")
        #expect(output.contains("7 nodes"))
        let left = try await cimdb(
            ["db", "psql", "--", "-At", "-c", "SELECT count(*) FROM pg_database WHERE datname LIKE 'cimdb_bench%'"], environment: env)
        #expect(left.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "0")

        let bad = try await cimdb(["bench", "ingest", "--nodes", "0"], environment: env)
        #expect(bad.status != 0)
        #expect(bad.standardError.contains("must be positive"))
    }

    @Test func benchExportRunsAndReportsEveryFigure() async throws {
        let fresh = try FreshHome(), env = fresh.env
        defer { fresh.remove() }
        let bench = try await cimdb(["bench", "export", "--nodes", "3"], environment: env)
        #expect(bench.status == 0, "\(bench.standardError)")
        for figure in ["cimdb export", "instances/s", "peak RSS", "raw COPY of the rows", "report.node_summary", "report.compare_nodes", "slowest:"] {
            #expect(bench.standardOutput.contains(figure), "no \(figure) in:\n\(bench.standardOutput)")
        }
    }
}
