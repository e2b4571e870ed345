import ArgumentParser
import CIM
import CommandSupport
import Fleet
import Foundation
import Ingest
import Inventory
import Migrations
import ModelStore
import ORM
import SQLCore
import Store
import Synchronization

/// `cimdb bench ingest`: the inventory pipeline on a synthetic fleet — rollout, steady-state
/// discovery and updates — against raw COPY of the same rows into the same tables.
struct BenchIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Time discovery and update ingest on a synthetic fleet against raw COPY.",
        discussion: """
            Works in two scratch databases of the embedded cluster ($CIMDB_HOME; started when \
            needed), dropped afterwards. In the first, the fleet's results go through the \
            pipeline as a server applies them: envelopes decoded, results applied in batches, \
            one transaction per batch, by --workers connections in parallel:
              1. first discovery of every node (every instance and association created),
              2. first update of every property on every node (rollout = 1 + 2),
              3. steady-state discovery (the same outputs again: nothing changed),
              4. steady-state updates (about 10 % of the values changed).
            The outputs are generated (untimed) --chunk nodes at a time. In the second database \
            the same rows are written the fastest raw way, in the same job: COPY of the \
            discovered rows into the same tables, and for each update phase COPY of the same \
            values into a temporary table and one UPDATE … FROM per class.
            """
    )

    @Option(help: "Nodes in the fleet.")
    var nodes = 1_000

    @Option(help: "Connections applying results in parallel.")
    var workers = 2

    @Option(help: "Nodes per transaction: their discovery results, or all their update results.")
    var batch = 50

    @Option(help: "Nodes whose outputs are generated at a time (untimed).")
    var chunk = 1_000

    @Option(help: "The fleet's seed.")
    var seed: UInt64 = 1

    @Flag(help: "Keep the scratch databases (to look at plans and data afterwards).")
    var keep = false

    @Flag(
        help: ArgumentHelp(
            "After each phase, print the statements that took the server's time (needs pg_stat_statements in shared_preload_libraries).",
            valueName: "profile"))
    var profile = false

    func validate() throws {
        guard nodes > 0, workers > 0, batch > 0, chunk > 0 else { throw ValidationError("--nodes, --workers, --batch and --chunk must be positive") }
    }

    func run() async throws {
        try await reportingErrors {
            let scratch = try await ScratchDatabases.open()
            defer { scratch.close(keep: keep) }
            let admin = scratch.admin
            let configuration = try Fleet.benchmarkConfiguration()
            let oursInfo = try scratch.createInstalled("ours", configuration: configuration)
            let referenceInfo = try scratch.createInstalled("reference", configuration: configuration)
            let connections = try (0..<workers).map { _ in WorkerConnection(try Connection(oursInfo)) }
            defer { for w in connections { w.connection.close() } }
            let main = connections[0].connection
            let catalog = try ModelCatalog.load(from: main)
            let fleet = Fleet(size: nodes, seed: seed, configuration: configuration)
            print(
                "cimdb bench ingest: \(nodes) nodes (seed \(seed)), \(workers) workers, \(batch) nodes per transaction; PostgreSQL \(admin.serverVersion / 10000)"
            )

            let run = Run(fleet: fleet, catalog: catalog, workers: connections, batch: batch, chunk: chunk)
            var report = Report()
            let profiler = profile ? try StatementProfile(admin: admin, database: scratch.names[0]) : nil
            report.firstDiscovery = try run.discovery(sequence: 1, round: 0)
            try profiler?.print("first discovery")
            let discovered = try Snapshot.discovered(on: main, catalog: catalog)
            report.instances = discovered.instances
            try profiler?.reset()
            report.firstValues = try run.updates(sequence: 1, round: 0)
            try profiler?.print("first values")
            let firstValues = try Snapshot.values(on: main, catalog: catalog, configuration: configuration)
            try profiler?.reset()
            report.steadyDiscovery = try run.discovery(sequence: 2, round: 0)
            try profiler?.print("steady discovery")
            try profiler?.reset()
            report.steadyValues = try run.updates(sequence: 2, round: 1)
            try profiler?.print("steady updates")
            let steadyValues = try Snapshot.values(on: main, catalog: catalog, configuration: configuration)
            guard report.firstDiscovery.created == discovered.instances, report.steadyDiscovery.created == 0, report.steadyDiscovery.deleted == 0
            else { throw CommandFailure("unexpected discovery outcome: first \(report.firstDiscovery), steady \(report.steadyDiscovery)") }

            let reference = try Connection(referenceInfo)
            defer { reference.close() }
            report.referenceDiscovery = try discovered.copy(into: reference)
            report.referenceFirstValues = try firstValues.apply(on: reference)
            report.referenceSteadyValues = try steadyValues.apply(on: reference)
            report.print(nodes: nodes)
        }
    }
}

/// The pipeline's phases over the fleet.
private struct Run {
    let fleet: Fleet
    let catalog: ModelCatalog
    let workers: [WorkerConnection]
    let batch: Int
    let chunk: Int

    struct Tally: CustomStringConvertible {
        var results = 0
        var created = 0
        var deleted = 0
        var values = 0
        var changed = 0
        var time: Duration = .zero
        var clientCPU: Duration = .zero
        var description: String { "\(results) results, \(created) created, \(deleted) deleted, \(values) values, \(changed) changed" }
    }

    /// Every node's discovery result, as envelopes, applied in batches.
    func discovery(sequence: Int64, round: Int) throws -> Tally {
        let processor = DiscoveryProcessor(catalog: catalog)
        return try phase(round: round, encode: { [fleet] node in [Envelope.encode(fleet.discoveryResult(node, sequence: sequence))] }) {
            connection, envelopes in
            let batch = try envelopes.map { bytes in Delivery(try Envelope.decodeDiscovery(bytes), raw: bytes) }
            var t = Tally()
            for outcome in try processor.apply(batch, on: connection) {
                guard case .applied(let summary) = outcome else { throw CommandFailure("a fleet result was not applied: \(outcome)") }
                t.results += 1
                t.created += summary.created
                t.deleted += summary.deleted
            }
            return t
        }
    }

    /// Every node's update results (one per updated property), as envelopes, applied in batches.
    func updates(sequence: Int64, round: Int) throws -> Tally {
        let processor = UpdateProcessor(catalog: catalog)
        return try phase(round: round, encode: { [fleet] node in fleet.updateResults(node, sequence: sequence).map { Envelope.encode($0) } }) {
            connection, envelopes in
            let batch = try envelopes.map { bytes in Delivery(try Envelope.decodeUpdate(bytes), raw: bytes) }
            var t = Tally()
            for (delivery, outcome) in zip(batch, try processor.apply(batch, on: connection)) {
                guard case .applied(let summary) = outcome, !summary.failed else {
                    throw CommandFailure("a fleet result was not applied: \(outcome)")
                }
                t.results += 1
                // Every value received counts, also those of an output identical to the last.
                t.values += delivery.result.output.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                t.changed += summary.changed
            }
            return t
        }
    }

    /// A phase: the fleet's envelopes generated `chunk` nodes at a time (untimed), each chunk's
    /// batches applied by the workers (timed: wall clock and the workers' CPU).
    func phase(
        round: Int, encode: @escaping @Sendable (FleetNode) -> [[UInt8]],
        apply: @escaping @Sendable (Connection, [[UInt8]]) throws -> Tally
    ) throws -> Tally {
        let tally = LockedTally()
        var time: Duration = .zero, cpu: Duration = .zero
        for first in stride(from: 0, to: fleet.size, by: chunk) {
            let envelopes = generate(first..<min(first + chunk, fleet.size), round: round, encode)
            let (wall, used) = try runInParallel(envelopes, on: workers) { connection, batch in tally.add(try apply(connection, batch)) }
            time += wall
            cpu += used
        }
        var total = tally.total
        total.time = time
        total.clientCPU = cpu
        return total
    }

    /// The envelopes of the nodes in `range`, grouped into batches of `batch` nodes; generated
    /// on every core.
    func generate(_ range: Range<Int>, round: Int = 0, _ encode: @escaping @Sendable (FleetNode) -> [[UInt8]]) -> [[[UInt8]]] {
        let fleet = self.fleet
        let perNode = Mutex<[[[UInt8]]]>(Array(repeating: [], count: range.count))
        DispatchQueue.concurrentPerform(iterations: range.count) { offset in
            let index = range.lowerBound + offset
            let node = round == 0 ? fleet.node(index) : fleet.node(index, round: round)
            let envelopes = encode(node)
            perNode.withLock { $0[offset] = envelopes }
        }
        let all = perNode.withLock { $0 }
        return stride(from: 0, to: all.count, by: batch).map { all[$0..<min($0 + batch, all.count)].flatMap { $0 } }
    }
}

private final class LockedTally: Sendable {
    let state = Mutex(Run.Tally())
    func add(_ t: Run.Tally) {
        state.withLock {
            $0.results += t.results
            $0.created += t.created
            $0.deleted += t.deleted
            $0.values += t.values
            $0.changed += t.changed
        }
    }
    var total: Run.Tally { state.withLock { $0 } }
}

/// Rows taken from the pipeline's database (untimed) for the raw reference: COPY data, table
/// by table, exactly as the pipeline left them.
private struct Snapshot {
    /// (COPY target, data, rows), in the order they are to be loaded.
    var tables: [(target: SQLIdentifier, data: [UInt8], rows: Int)] = []
    /// For value snapshots: per class, the UPDATE that applies the temporary table.
    var updates: [(temp: SQLIdentifier, create: SQL, update: SQL)] = []
    var instances = 0

    static func rows(_ data: [UInt8]) -> Int { data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }

    /// What the first discovery wrote where it matters: the registry, the class tables (keys
    /// only at that point) and the instance log.
    static func discovered(on connection: Connection, catalog: ModelCatalog) throws -> Snapshot {
        var snapshot = Snapshot()
        let registry = try connection.copyOut("COPY cimdb.instance TO STDOUT")
        snapshot.instances = rows(registry)
        snapshot.tables.append((SQLIdentifier("instance", schema: "cimdb"), registry, snapshot.instances))
        let classes = try connection.execute("SELECT DISTINCT class_name FROM cimdb.instance ORDER BY 1").compactMap { $0.string(0) }
        for name in classes {
            guard let cls = catalog.class(named: name) else { throw CommandFailure("no class \(name) in the catalog") }
            let data = try connection.copyOut("COPY \(cls.sqlTable) TO STDOUT")
            snapshot.tables.append((cls.sqlTable, data, rows(data)))
        }
        let sources = try connection.copyOut("COPY cimdb.instance_source TO STDOUT")
        snapshot.tables.append((SQLIdentifier("instance_source", schema: "cimdb"), sources, rows(sources)))
        return snapshot
    }

    /// The updated properties' values, class by class (id and the updated columns).
    static func values(on connection: Connection, catalog: ModelCatalog, configuration: InventoryConfiguration) throws -> Snapshot {
        var snapshot = Snapshot()
        for settings in configuration.settings where !settings.properties.isEmpty {
            guard let cls = catalog.class(named: settings.className) else { throw CommandFailure("no class \(settings.className) in the catalog") }
            let columns = settings.properties.compactMap { cls.property(named: $0.name)?.sqlColumn }
            let id = SQLNames.instanceID
            let temp = SQLIdentifier("bench_" + SQLNames.identifier(for: settings.id).lowercased())
            let list = SQL.list([id] + columns)
            let data = try connection.copyOut("COPY (SELECT \(list) FROM ONLY \(cls.sqlTable)) TO STDOUT")
            snapshot.tables.append((temp, data, rows(data)))
            let prefixed = { (alias: String) in SQL.verbatim(columns.map { alias + "." + $0.quoted }.joined(separator: ", ")) }
            snapshot.updates.append(
                (
                    temp,
                    "CREATE TEMP TABLE \(temp) AS SELECT \(list) FROM \(cls.sqlTable) WITH NO DATA",
                    """
                    UPDATE ONLY \(cls.sqlTable) AS t SET (\(SQL.list(columns))) = ROW(\(prefixed("v")))
                    FROM \(temp) AS v WHERE t.\(id) = v.\(id)
                      AND ROW(\(prefixed("t"))) IS DISTINCT FROM ROW(\(prefixed("v")))
                    """
                ))
        }
        return snapshot
    }

    /// The reference for discovery: COPY of every table's rows, in one transaction.
    func copy(into connection: Connection) throws -> Duration {
        let start = ContinuousClock.now
        try connection.transaction { c in
            for table in tables { try c.copyIn("COPY \(table.target) FROM STDIN") { $0.appendData(table.data, rows: table.rows) } }
        }
        return ContinuousClock.now - start
    }

    /// The reference for updates: per class, COPY of the values into a temporary table, ANALYZE,
    /// and one UPDATE … FROM that writes the values that differ; one transaction.
    func apply(on connection: Connection) throws -> Duration {
        let start = ContinuousClock.now
        try connection.transaction { c in
            for (table, update) in zip(tables, updates) {
                try c.execute("DROP TABLE IF EXISTS \(update.temp)")
                try c.execute(update.create)
                try c.copyIn("COPY \(update.temp) FROM STDIN") { $0.appendData(table.data, rows: table.rows) }
                try c.execute("ANALYZE \(update.temp)")
                try c.execute(update.update)
            }
        }
        return ContinuousClock.now - start
    }
}

private struct Report {
    var instances = 0
    var firstDiscovery = Run.Tally(), firstValues = Run.Tally(), steadyDiscovery = Run.Tally(), steadyValues = Run.Tally()
    var referenceDiscovery: Duration = .zero, referenceFirstValues: Duration = .zero, referenceSteadyValues: Duration = .zero

    func print(nodes: Int) {
        let rollout = firstDiscovery.time + firstValues.time
        let perNode = rollout.seconds / Double(nodes)
        func line(_ name: String, _ t: Run.Tally, _ what: String, _ count: Int, _ goal: String) {
            Swift.print(
                String(
                    format: "  %@ %7.2f s %9.0f %@/s   client CPU %5.2f s   %@",
                    name.padding(toLength: 22, withPad: " ", startingAt: 0), t.time.seconds, rate(count, t.time), what,
                    t.clientCPU.seconds, goal))
        }
        func reference(_ name: String, _ d: Duration, _ t: Run.Tally, _ what: String, _ count: Int, _ goal: String) {
            Swift.print(
                String(
                    format: "    %@ %7.2f s %9.0f %@/s   → cimdb at %.2f of raw COPY's rate   %@",
                    name.padding(toLength: 20, withPad: " ", startingAt: 0), d.seconds, rate(count, d), what, d.seconds / t.time.seconds, goal))
        }
        Swift.print("  fleet: \(instances) instances and associations; per update round \(firstValues.results) results, \(firstValues.values) values")
        line("first discovery", firstDiscovery, "results", firstDiscovery.results, "(goal ≥ 200 results/s)")
        Swift.print(
            String(format: "    %@ %9.0f instances/s", "".padding(toLength: 30, withPad: " ", startingAt: 0), rate(instances, firstDiscovery.time)))
        reference("raw COPY", referenceDiscovery, firstDiscovery, "results", firstDiscovery.results, "")
        line("first values", firstValues, "values", firstValues.values, "")
        reference("raw COPY + UPDATE", referenceFirstValues, firstValues, "values", firstValues.values, "")
        Swift.print(
            String(
                format: "  rollout                %7.2f s   %.2f ms per node → %.0f s for 10,000 nodes (goal ≤ 60 s)", rollout.seconds,
                perNode * 1000, perNode * 10_000))
        line("steady discovery", steadyDiscovery, "results", steadyDiscovery.results, "(nothing changed; goal ≥ 1,000 results/s)")
        line("steady updates", steadyValues, "values", steadyValues.values, "(\(steadyValues.changed) changed; goal ≥ 100,000 values/s)")
        reference("raw COPY + UPDATE", referenceSteadyValues, steadyValues, "values", steadyValues.values, "(goal ≥ 0.33)")
    }

    func rate(_ n: Int, _ d: Duration) -> Double { Double(n) / max(d.seconds, 1e-9) }
}

/// Where the server's time went in a phase, from pg_stat_statements (`--profile`).
private struct StatementProfile {
    let admin: Connection
    let database: String

    init(admin: Connection, database: String) throws {
        self.admin = admin
        self.database = database
        do {
            try admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            try reset()
        } catch {
            throw CommandFailure("--profile needs pg_stat_statements: add it to shared_preload_libraries and restart PostgreSQL (\(detailed: error))")
        }
    }

    func reset() throws {
        try admin.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = \(database)), 0)")
    }

    func print(_ phase: String) throws {
        let rows = try admin.execute(
            """
            SELECT round(total_exec_time)::bigint AS ms, calls, rows, round((100 * total_exec_time / nullif(sum(total_exec_time) OVER (), 0))::numeric, 1) AS share,
                   left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query
            FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = \(database))
            ORDER BY total_exec_time DESC LIMIT 8
            """)
        Swift.print("  server time in \(phase), by statement:")
        for row in rows {
            Swift.print(
                String(
                    format: "    %7d ms %5.1f %%  %6d calls %8d rows  %@", row.int64("ms") ?? 0, row.double("share") ?? 0,
                    row.int("calls") ?? 0, row.int("rows") ?? 0, row.string("query") ?? ""))
        }
    }
}
