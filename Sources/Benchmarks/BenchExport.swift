import ArgumentParser
import CommandSupport
import Export
import Fleet
import Foundation
import Ingest
import Installation
import Inventory
import Migrations
import ModelStore
import ORM
import SQLCore
import Store

/// `cimdb bench export`: the CIM-XML export and the report views over a generated fleet.
struct BenchExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Time the CIM-XML export and the report views on a generated fleet's inventory.",
        discussion: """
            Fills a scratch database of the embedded cluster with a fleet (untimed; the report \
            aggregates then refreshed as a running server keeps them, and a checkpoint), then runs \
            `cimdb export --associations` as a child process (its peak RSS is the export's own) \
            against a raw COPY of the same tables' rows in the same run, and times every report \
            view (SELECT * of the whole view, best of three) and compare_nodes.
            """
    )

    @Option(help: "Nodes in the fleet.") var nodes = 1_000
    @Option(help: "The fleet's seed.") var seed: UInt64 = 1
    @Flag(help: "Keep the scratch database.") var keep = false

    func validate() throws {
        guard nodes > 1 else { throw ValidationError("--nodes must be at least 2") }
    }

    func run() async throws {
        try await reportingErrors {
            let scratch = try await ScratchDatabases.open()
            defer { scratch.close(keep: keep) }
            let configuration = try Fleet.benchmarkConfiguration()
            let conninfo = try scratch.createInstalled("export", configuration: configuration)
            let connection = try Connection(conninfo)
            defer { connection.close() }
            let fleet = Fleet(size: nodes, seed: seed, configuration: configuration)
            let catalog = try ModelCatalog.load(from: connection)
            print("cimdb bench export: \(nodes) nodes (seed \(seed)); PostgreSQL \(scratch.admin.serverVersion / 10000)")
            Output.error("  loading the fleet …")
            for first in stride(from: 0, to: nodes, by: 100) {
                let range = first..<min(first + 100, nodes)
                _ = try DiscoveryProcessor(catalog: catalog).apply(
                    range.map { Delivery(fleet.discoveryResult(fleet.node($0), sequence: 1)) }, on: connection)
                _ = try UpdateProcessor(catalog: catalog).apply(
                    range.flatMap { fleet.updateResults(fleet.node($0), sequence: 1) }.map { Delivery($0) }, on: connection)
            }
            try connection.execute("VACUUM ANALYZE")
            // The stored report aggregates, as a running `cimdb server` keeps them.
            try Reports.refreshAggregates(on: connection)
            // The load's dirty pages written out first: the export writes gigabytes, and the
            // kernel throttles a writer once too much is dirty — that would time the load.
            try connection.execute("CHECKPOINT")
            sync()
            let instances = try connection.execute("SELECT count(*) FROM cimdb.instance").first?.int(0) ?? 0

            // The reference: the same rows, read raw.
            let classes = try CIMXMLExporter(catalog: catalog, options: .init(associations: true, host: "h")).classes()
            let referenceStart = ContinuousClock.now
            var bytes = 0
            for cls in classes { bytes += try connection.copyOut("COPY (SELECT * FROM ONLY \(cls.sqlTable)) TO STDOUT").count }
            let reference = ContinuousClock.now - referenceStart

            let file = FileManager.default.temporaryDirectory.appendingPathComponent("cimdb-bench-export-\(getpid()).xml")
            defer { try? FileManager.default.removeItem(at: file) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            process.arguments = ["export", "--database-url", conninfo, "--associations", "-o", file.path]
            // The child reports its own peak RSS (VmHWM; its rusage would also count the pages
            // it shared with this process, which holds the fleet, before it exec'd).
            let errors = Pipe()
            process.standardError = errors
            let exportStart = ContinuousClock.now
            try process.run()
            let summary = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let export = ContinuousClock.now - exportStart
            guard process.terminationStatus == 0 else { throw CommandFailure("cimdb export failed (exit \(process.terminationStatus)): \(summary)") }
            let rss = summary.firstMatch(of: /peak RSS (\d+) MB/).flatMap { Double($0.1) } ?? .nan
            let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0

            print(String(format: "  %d instances and associations; CIM-XML %.0f MB", instances, Double(size) / 1e6))
            print(
                String(
                    format: "  cimdb export          %6.2f s  %8.0f instances/s  peak RSS %.0f MB   (goal ≥ 100,000/s, < 100 MB)",
                    export.seconds, Double(instances) / export.seconds, rss))
            print(
                String(
                    format: "  raw COPY of the rows  %6.2f s  %8.0f instances/s  (%.0f MB of COPY text)   → export at %.2f of raw COPY's rate",
                    reference.seconds, Double(instances) / reference.seconds, Double(bytes) / 1e6, reference.seconds / export.seconds))

            // Summaries are read whole; listings as they are used: one node's rows, or the
            // newest hundred changes.
            var slowest: (String, Duration) = ("", .zero)
            let one = FleetNode.name(1)
            // Each listed as psql would show it; the node's name is bound, not spliced.
            let zero = FleetNode.name(0)
            let queries: [(label: String, sql: SQL)] = [
                ("SELECT * FROM report.node_summary", "SELECT * FROM report.node_summary"),
                ("SELECT * FROM report.instance_counts", "SELECT * FROM report.instance_counts"),
                ("SELECT * FROM report.overdue_properties", "SELECT * FROM report.overdue_properties"),
                ("SELECT * FROM report.recent_changes LIMIT 100", "SELECT * FROM report.recent_changes LIMIT 100"),
                ("SELECT * FROM report.processors WHERE node = '\(one)'", "SELECT * FROM report.processors WHERE node = \(one)"),
                ("SELECT * FROM report.ethernet_ports WHERE node = '\(one)'", "SELECT * FROM report.ethernet_ports WHERE node = \(one)"),
                ("SELECT * FROM report.memory_modules WHERE node = '\(one)'", "SELECT * FROM report.memory_modules WHERE node = \(one)"),
                ("SELECT * FROM report.file_systems WHERE node = '\(one)'", "SELECT * FROM report.file_systems WHERE node = \(one)"),
                ("SELECT * FROM report.node_instance WHERE node = '\(one)'", "SELECT * FROM report.node_instance WHERE node = \(one)"),
                ("SELECT * FROM report.compare_nodes('\(zero)', '\(one)')", "SELECT * FROM report.compare_nodes(\(zero), \(one))"),
            ]
            for (label, sql) in queries {
                var best = Duration.seconds(1_000)
                var rows = 0
                for _ in 0..<3 {
                    let start = ContinuousClock.now
                    rows = try connection.execute(sql).count
                    best = min(best, ContinuousClock.now - start)
                }
                print(
                    "  " + label.padding(toLength: 72, withPad: " ", startingAt: 0) + String(format: " %7.1f ms  %7d rows", best.seconds * 1000, rows)
                )
                if best > slowest.1 { slowest = (label, best) }
            }
            print("  slowest: \(slowest.0): " + String(format: "%.1f ms (goal < 200 ms)", slowest.1.seconds * 1000))
        }
    }
}
