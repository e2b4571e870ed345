import ArgumentParser
import CommandSupport
import Foundation
import HTTPClient
import Installation
import Logging
import Proxy
import ProxyService
import SQLCore
import Store
import Synchronization
import Upstream

/// `cimdb bench proxy`: messages queued by integrators and forwarded to a local upstream, end
/// to end, against a raw SQL queue on the same database in the same run.
///
/// Ours: `cimdb.proxy_enqueue` per message, one transaction each (what `cimdb proxy send-*` and
/// `ProxyQueries.send` do), `synchronous_commit` on, by several producers at once, while the
/// forwarder (`Forwarder`, as `cimdb proxy run` runs it) drains to `cimdb upstream` (in
/// process, its own database in the same cluster). The reference: a table with an index on
/// (precedence, id), an INSERT per message and transaction, and a forwarder that deletes
/// batches of 100 ordered by precedence with `FOR UPDATE SKIP LOCKED … RETURNING`, posts them
/// to the same upstream and commits after its 200.
struct BenchProxy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Queue and forward messages (80 % normal, 15 % bulk, 5 % urgent) to a local upstream; a raw SQL queue as the reference.")

    @Option(help: "Messages per run.")
    var messages = 100_000

    @Option(help: "Producers (connections queuing at once).")
    var producers = 8

    @Option(help: "Bytes of text per message (the body is about 60 bytes more).")
    var text = 140

    @Flag(help: "Skip the run with another session holding a snapshot.")
    var noSnapshot = false

    @Flag(help: "Skip the run of urgent messages sent while a bulk backlog drains.")
    var noUrgent = false

    @Option(help: "Then drain a backlog of this many messages queued during an outage (0: skip), sampling the process's memory.")
    var backlog = 0

    @Flag(help: "Keep the scratch databases.")
    var keep = false

    func run() async throws {
        try await reportingErrors {
            let scratch = try await ScratchDatabases.open()
            defer { scratch.close(keep: keep) }
            let site = try scratch.create("proxy_site")
            let central = try scratch.create("proxy_central")
            // Both queues commit synchronously, as the issue's benchmark asks: the scratch
            // cluster's default (the embedded one's) is asynchronous, which the reference's
            // INSERTs would otherwise get.
            for database in [site, central] {
                try Connection.using(database) { c in
                    _ = try c.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', current_database()); END $$")
                }
            }
            try Connection.using(site) { c in
                try Schema.install(on: c)
                _ = try c.execute("UPDATE cimdb.proxy_settings SET mode = 'message'")
                _ = try c.execute(
                    """
                    CREATE TABLE bench_ref_queue (
                        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, message_id uuid NOT NULL DEFAULT gen_random_uuid(),
                        precedence smallint NOT NULL, event_id text NOT NULL, body text NOT NULL,
                        queued_at timestamptz NOT NULL DEFAULT clock_timestamp())
                    """)
                _ = try c.execute("CREATE INDEX bench_ref_queue_order ON bench_ref_queue (precedence, id)")
            }
            var logger = Logger(label: "cimdb.bench.proxy")
            logger.logLevel = .warning
            let port = Mutex(0)
            let upstream = Task {
                try await UpstreamServer(configuration: .init(host: "127.0.0.1", port: 0, conninfo: central, token: nil), logger: logger).run {
                    bound in port.withLock { $0 = bound }
                }
            }
            defer { upstream.cancel() }
            while port.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(20)) }
            let url = "http://127.0.0.1:\(port.withLock { $0 })"
            let handle = try Connection.using(site) { c in try ProxyQueries.register(name: "bench", version: "1", on: c) }
            let proxyID = try Connection.using(site) { c in try c.execute("SELECT proxy_id::text AS p FROM cimdb.proxy_settings").first?["p"] ?? "" }
            let forwarder = Forwarder(configuration: .init(upstream: url, conninfo: site, site: "bench", token: nil), logger: logger)
            let forwarding = Task { await forwarder.run() }
            defer { forwarding.cancel() }
            try await waitFor("the upstream has the integrator's registration", central, "SELECT count(*) FROM upstream.integrator", 1)

            print("cimdb bench proxy: \(messages) messages (80 % normal, 15 % bulk, 5 % urgent), \(producers) producers, synchronous_commit on")
            let plan = Plan(messages: messages, text: text)
            let ours = try await measure("cimdb proxy", site: site, central: central, queue: "cimdb.proxy_message", offset: 0) {
                try runProducers(plan, conninfo: site) { c, item in
                    _ = try c.execute(
                        """
                        SELECT outcome FROM cimdb.proxy_enqueue(\(handle)::uuid, 'event', 'node01', \(item.eventID), \(item.precedence), 'normal', NULL, \(item.body))
                        """)
                }
            }
            let stop = StopFlag()
            let forwarderDone = DispatchSemaphore(value: 0)
            let failure = Mutex<String?>(nil)
            Thread {
                do {
                    try Self.referenceForwarder(site: site, upstream: url, proxy: proxyID, integrator: handle, stop: stop)
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
                forwarderDone.signal()
            }.start()
            let reference = try await measure("raw SQL queue", site: site, central: central, queue: "bench_ref_queue", offset: messages) {
                try runProducers(plan, conninfo: site, prefix: "r") { c, item in
                    _ = try c.execute("INSERT INTO bench_ref_queue (precedence, event_id, body) VALUES (\(item.rank), \(item.eventID), \(item.body))")
                }
            }
            stop.value.store(true, ordering: .releasing)
            try await onThread { forwarderDone.wait() }
            if let failure = failure.withLock({ $0 }) { throw CommandFailure("the reference's forwarder failed: \(failure)") }
            var snapshot: Figures?
            if !noSnapshot {
                let holder = try Connection(site)
                defer { holder.close() }
                _ = try holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                _ = try holder.execute("SELECT txid_current(), count(*) FROM cimdb.proxy_message")
                snapshot = try await measure(
                    "cimdb proxy, a snapshot held", site: site, central: central, queue: "cimdb.proxy_message", offset: 2 * messages
                ) {
                    try runProducers(plan, conninfo: site, prefix: "s") { c, item in
                        _ = try c.execute(
                            """
                            SELECT outcome FROM cimdb.proxy_enqueue(\(handle)::uuid, 'event', 'node01', \(item.eventID), \(item.precedence), 'normal', NULL, \(item.body))
                            """)
                    }
                }
                _ = try holder.execute("ROLLBACK")
            }
            var received = (snapshot == nil ? 2 : 3) * messages
            let urgent = noUrgent ? nil : try await urgentOverBulk(site: site, central: central, handle: handle, received: &received)
            let drain = backlog > 0 ? try await drainBacklog(site: site, handle: handle) : nil
            print("")
            for figures in [ours, reference] + (snapshot.map { [$0] } ?? []) { figures.print() }
            if let urgent { print(urgent) }
            if let drain { print(drain) }
            print("")
            print(
                String(
                    format: "ratio to the reference: enqueue %.2f, end to end %.2f", ours.enqueueRate / reference.enqueueRate,
                    ours.endToEndRate / reference.endToEndRate))
            if let snapshot {
                print(String(format: "with a snapshot held: end to end %.2f of the run without", snapshot.endToEndRate / ours.endToEndRate))
            }
        }
    }

    /// Urgent messages while a bulk backlog drains (the goal: p99 under 100 ms): 20,000 bulk
    /// events queued during a stop, forwarding restarted, then an urgent message every 10 ms
    /// for 3 s through `cimdb.proxy_enqueue`; their latency from queued to recorded upstream.
    func urgentOverBulk(site: String, central: String, handle: String, received: inout Int) async throws -> String {
        let bulk = 20_000, urgent = 300
        print("  urgent messages over a draining bulk backlog …")
        try Connection.using(site) { c in
            _ = try c.execute("UPDATE cimdb.proxy_settings SET stopped = true")
            try Self.queueDirectly(bulk, precedence: 2, prefix: "bulk-", handle: handle, text: text, on: c)
            _ = try c.execute("UPDATE cimdb.proxy_settings SET stopped = false")
        }
        let body = #"{"instance":"node01","type":"bench","severity":"critical","state":"opened","text":"urgent"}"#
        let bulkLeft = try await onThread {
            try Connection.using(site) { c in
                for n in 0..<urgent {
                    _ = try c.execute(
                        "SELECT outcome FROM cimdb.proxy_enqueue(\(handle)::uuid, 'event', 'node01', \("urgent-\(n)"), 'urgent', 'normal', NULL, \(body))"
                    )
                    usleep(10_000)
                }
                return try c.execute("SELECT count(*) FROM cimdb.proxy_message WHERE precedence = 2").first?.int64(0) ?? 0
            }
        }
        received += bulk + urgent
        try await waitFor("every urgent and bulk message upstream", central, "SELECT count(*) FROM upstream.message", received)
        let row = try Connection.using(central) { c in
            try c.execute(
                """
                SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - queued_at))::float8 AS p50,
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - queued_at))::float8 AS p99,
                       max(extract(epoch FROM received_at - queued_at))::float8 AS max
                FROM upstream.message WHERE event_id LIKE 'urgent-%'
                """
            ).first
        }
        let (p50, p99, worst) = (row?["p50"].flatMap(Double.init) ?? 0, row?["p99"].flatMap(Double.init) ?? 0, row?["max"].flatMap(Double.init) ?? 0)
        return String(
            format:
                "urgent over a draining bulk backlog (%d bulk, %d urgent at 100/s; %lld bulk still queued after the last urgent): p50 %.0f ms, p99 %.0f ms, max %.0f ms",
            bulk, urgent, bulkLeft, p50 * 1000, p99 * 1000, worst * 1000)
    }

    /// The drain of a backlog queued during an outage: `backlog` normal messages (queued in
    /// bulk by SQL: the drain is what is measured), forwarding restarted, the time until the
    /// queue is empty, and this process's resident memory (the forwarder and the upstream run
    /// in it) sampled every half second.
    func drainBacklog(site: String, handle: String) async throws -> String {
        print("  a backlog of \(backlog) messages …")
        try Connection.using(site) { c in
            _ = try c.execute("UPDATE cimdb.proxy_settings SET stopped = true")
            var queued = 0
            while queued < backlog {
                let chunk = min(100_000, backlog - queued)
                try Self.queueDirectly(chunk, precedence: 1, prefix: "backlog-\(queued)-", handle: handle, text: text, on: c)
                queued += chunk
            }
            _ = try c.execute("VACUUM ANALYZE cimdb.proxy_message")
        }
        let before = Self.residentBytes()
        let start = ContinuousClock.now
        try Connection.using(site) { c in _ = try c.execute("UPDATE cimdb.proxy_settings SET stopped = false") }
        var samples: [Int] = []
        while true {
            samples.append(Self.residentBytes())
            let empty = try await onThread {
                try Connection.using(site) { c in
                    try c.execute("SELECT NOT EXISTS (SELECT 1 FROM cimdb.proxy_message) AS e").first?.bool("e") ?? false
                }
            }
            if empty { break }
            guard ContinuousClock.now - start < .seconds(1800) else { throw CommandFailure("the backlog did not drain in 30 minutes") }
            try await Task.sleep(for: .milliseconds(500))
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let mib = { (bytes: Int) in Double(bytes) / 1_048_576 }
        let quarter = samples.count / 4
        return String(
            format:
                "backlog of %d drained in %.1f s (%.0f msg/s); resident memory %.0f MiB before, %.0f–%.0f MiB while draining (first quarter max %.0f, last quarter max %.0f)",
            backlog, elapsed, Double(backlog) / elapsed, mib(before), mib(samples.min() ?? 0), mib(samples.max() ?? 0),
            mib(samples.prefix(max(1, quarter)).max() ?? 0), mib(samples.suffix(max(1, quarter)).max() ?? 0))
    }

    /// Queues `count` events straight into the queue table (one statement): a backlog as an
    /// outage leaves it, without timing the enqueue path (the main runs measure that).
    static func queueDirectly(_ count: Int, precedence: Int, prefix: String, handle: String, text: Int, on c: Connection) throws {
        let filler = String(repeating: "x", count: text)
        _ = try c.execute(
            """
            INSERT INTO cimdb.proxy_message (precedence, persistence, kind, integrator, instance, event_id, body, bytes)
            SELECT \(precedence)::smallint, 'normal', 'event', \(handle)::uuid, 'node01', \(prefix)::text || g, b, octet_length(b)
            FROM generate_series(1, \(count)) g,
                 LATERAL (SELECT format('{"instance":"node01","type":"bench","event_id":"%s%s","severity":"minor","state":"opened","text":"%s"}',
                                        \(prefix)::text, g, \(filler)::text) AS b) x
            """)
    }

    /// This process's resident set (VmRSS), in bytes.
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    struct Item: Sendable {
        var eventID: String
        var precedence: String
        var rank: Int
        var body: String
    }

    struct Plan: Sendable {
        var messages: Int
        var text: Int

        func items(prefix: String) -> [Item] {
            let filler = String(repeating: "x", count: text)
            return (0..<messages).map { index in
                let (precedence, rank) = index % 20 == 0 ? ("urgent", 0) : index % 20 <= 3 ? ("bulk", 2) : ("normal", 1)
                let id = prefix + String(format: "%08d", index)
                return Item(
                    eventID: id, precedence: precedence, rank: rank,
                    body: #"{"instance":"node01","type":"bench","event_id":"\#(id)","severity":"minor","state":"opened","text":"\#(filler)"}"#)
            }
        }
    }

    struct Figures {
        var name: String
        var messages: Int
        var enqueue: Duration
        var endToEnd: Duration
        var latencies: [(String, Double, Double)]
        var walPerMessage: Double
        var deadTuplesPerMessage: Double

        var enqueueRate: Double { Double(messages) / enqueue.seconds }
        var endToEndRate: Double { Double(messages) / endToEnd.seconds }

        func print() {
            Swift.print(
                String(
                    format: "%@: enqueue %.0f msg/s (%.1f s), end to end %.0f msg/s (%.1f s), WAL %.0f B/msg, dead tuples %.2f/msg", name,
                    enqueueRate,
                    enqueue.seconds, endToEndRate, endToEnd.seconds, walPerMessage, deadTuplesPerMessage))
            for (precedence, p50, p99) in latencies {
                Swift.print(String(format: "  %@ latency, queued to recorded upstream: p50 %.0f ms, p99 %.0f ms", precedence, p50 * 1000, p99 * 1000))
            }
        }
    }

    /// Runs one phase: producers (`produce`, on threads), then waits until the upstream holds
    /// every message; the figures.
    func measure(
        _ name: String, site: String, central: String, queue: String, offset: Int, _ produce: @escaping @Sendable () throws -> Duration
    ) async throws -> Figures {
        let wal = try Connection.using(site) { c in try c.execute("SELECT pg_current_wal_lsn()::text AS l").first?["l"] ?? "0/0" }
        let dead = try deadTuples(site, queue)
        Swift.print("  \(name) …")
        let start = ContinuousClock.now
        let enqueue = try await onThread(produce)
        let expected = offset + messages
        try await waitFor("\(name): every message upstream", central, "SELECT count(*) FROM upstream.message", expected)
        let endToEnd = ContinuousClock.now - start
        let walBytes = try Connection.using(site) { c in
            try c.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), \(wal)::pg_lsn)::float8 AS b").first?["b"].flatMap(Double.init) ?? 0
        }
        let deadAfter = try deadTuples(site, queue)
        let latencies = try Connection.using(central) { c in
            try c.execute(
                """
                SELECT precedence, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - queued_at))::float8 AS p50,
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - queued_at))::float8 AS p99
                FROM (SELECT * FROM upstream.message ORDER BY seq OFFSET \(offset)) m GROUP BY precedence
                ORDER BY array_position(ARRAY['urgent', 'normal', 'bulk'], precedence)
                """
            ).map { ($0["precedence"] ?? "", $0["p50"].flatMap(Double.init) ?? 0, $0["p99"].flatMap(Double.init) ?? 0) }
        }
        return Figures(
            name: name, messages: messages, enqueue: enqueue, endToEnd: endToEnd, latencies: latencies, walPerMessage: walBytes / Double(messages),
            deadTuplesPerMessage: Double(max(0, deadAfter - dead)) / Double(messages))
    }

    func runProducers(
        _ plan: Plan, conninfo: String, prefix: String = "", _ work: @escaping @Sendable (Connection, Item) throws -> Void
    ) throws -> Duration {
        let workers = try (0..<producers).map { _ in WorkerConnection(try Connection(conninfo)) }
        defer { for worker in workers { worker.connection.close() } }
        return try runInParallel(plan.items(prefix: prefix), on: workers, work).wall
    }

    func deadTuples(_ conninfo: String, _ table: String) throws -> Int64 {
        try Connection.using(conninfo) { c in
            _ = try c.execute("SELECT pg_stat_clear_snapshot()")
            return try c.execute("SELECT n_dead_tup AS d FROM pg_stat_user_tables WHERE relid = \(table)::regclass").first?.int64("d") ?? 0
        }
    }

    func waitFor(_ what: String, _ conninfo: String, _ sql: String, _ expected: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(600)
        while ContinuousClock.now < deadline {
            let count = try await onThread { try Connection.using(conninfo) { c in try c.execute(SQL(stringLiteral: sql)).first?.int64(0) ?? 0 } }
            if count >= expected { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CommandFailure("timed out waiting for \(what)")
    }

    /// The reference's forwarder: batches of 100 by precedence, deleted under FOR UPDATE SKIP
    /// LOCKED, posted, committed after the 200.
    static func referenceForwarder(site: String, upstream: String, proxy: String, integrator: String, stop: StopFlag) throws {
        let connection = try Connection(site)
        defer { connection.close() }
        let endpoint = try HTTPEndpoint(url: upstream)
        let client = HTTPClient(connectTimeout: .seconds(5), timeout: .seconds(30))
        let encoder = JSONEncoder()
        while !stop.value.load(ordering: .acquiring) {
            _ = try connection.execute("BEGIN")
            let rows = try connection.execute(
                """
                DELETE FROM bench_ref_queue WHERE id IN (
                    SELECT id FROM bench_ref_queue ORDER BY precedence, id LIMIT 100 FOR UPDATE SKIP LOCKED)
                RETURNING message_id::text AS message_id, precedence, event_id, body,
                          to_char(queued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS queued_at
                """)
            if rows.isEmpty {
                _ = try connection.execute("COMMIT")
                usleep(10_000)
                continue
            }
            let header = ProxyWire.Header(source: integrator, sourceType: "integrator", routing: "bench/node01", timeToTransmit: nil)
            let batch = ProxyWire.Batch(
                proxy: proxy, site: "bench", mode: "message",
                messages: rows.map { row in
                    ProxyWire.Message(
                        id: row["message_id"] ?? "", kind: "event", precedence: QoS.Precedence.allCases[row.int("precedence") ?? 1],
                        persistence: .normal,
                        header: header, integrator: integrator, instance: "node01", eventID: row["event_id"], queuedAt: row["queued_at"] ?? "",
                        body: row["body"] ?? "{}")
                })
            let request = HTTPRequest(
                method: "POST", target: ProxyWire.messagesPath, headers: ["Content-Type": "application/json"], body: Array(try encoder.encode(batch)))
            let semaphore = DispatchSemaphore(value: 0)
            let status = Mutex(0)
            Task {
                let response = try? await client.send(request, to: endpoint)
                status.withLock { $0 = response?.status ?? 0 }
                semaphore.signal()
            }
            semaphore.wait()
            _ = try connection.execute(status.withLock { $0 } == 200 ? "COMMIT" : "ROLLBACK")
        }
    }
}

final class StopFlag: Sendable {
    let value = Atomic(false)
}

/// Runs blocking work on a thread of its own (libpq, producer threads' joins), off the pool the
/// forwarder and the upstream need.
private func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

extension Connection {
    /// Opens a connection, runs `body`, closes it.
    fileprivate static func using<T>(_ conninfo: String, _ body: (Connection) throws -> T) throws -> T {
        let connection = try Connection(conninfo)
        defer { connection.close() }
        return try body(connection)
    }
}
