import Foundation
import Proxy
import ProxyClient
import SQLCore
import Store
import StoreTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A site with its proxy and an upstream, as real processes: the site's database (cimdb
/// migrated), the upstream's own database, `cimdb upstream`, `cimdb proxy run`, and the
/// integrator calls as `cimdb proxy …` commands.
final class ProxySite: @unchecked Sendable {
    // @unchecked: used by one test at a time.
    let site: String
    let central: String
    let directory: String
    let port: Int
    private(set) var upstream: Spawned?
    private(set) var proxy: Spawned?
    private var proxyRuns = 0

    /// `siteDatabase`, `centralDatabase`: the site's and the upstream's databases somewhere else
    /// than the suite's cluster (in one a test may kill).
    init(siteDatabase: String? = nil, centralDatabase: String? = nil) async throws {
        if let siteDatabase {
            site = siteDatabase
        } else {
            site = try await TestPostgres.createDatabase()
        }
        if let centralDatabase {
            central = centralDatabase
        } else {
            central = try await TestPostgres.createDatabase()
        }
        directory = try temporaryDirectory("proxy")
        port = try freePort()
        let migrate = try await cimdb(["migrate", "--database-url", site])
        guard migrate.status == 0 else { throw TestFailure("migrate failed: \(migrate.output)") }
    }

    deinit {
        proxy?.stop(signal: SIGKILL)
        upstream?.stop(signal: SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Where the proxy forwards: this site's upstream, or another site's (redundant proxies).
    var upstreamOverride: String?
    var upstreamURL: String { upstreamOverride ?? "http://127.0.0.1:\(port)" }

    func startUpstream() async throws {
        upstream = try Spawned(
            ["upstream", "--listen", "127.0.0.1:\(port)", "--database-url", central], log: directory + "/upstream.log")
        let url = upstreamURL
        try await eventually("the upstream answers /health", timeout: .seconds(60)) {
            (try? await send(url, "GET", "/health", body: [], headers: []))?.status == 200
        }
    }

    func stopUpstream() { upstream?.stop(signal: SIGKILL) }

    func startProxy(batch: Int = 200, listen: String? = nil) throws {
        proxyRuns += 1
        let arguments = [
            "proxy", "run", "--upstream", upstreamURL, "--site", "rack-a", "--database-url", site, "--log-level", "debug", "--batch", String(batch),
        ]
        proxy = try Spawned(arguments + (listen.map { ["--listen", $0] } ?? []), log: directory + "/proxy.log")
    }

    /// The proxy with its integrator API on a free loopback port, once it answers; its URL.
    func startProxyWithAPI() async throws -> String {
        let port = try freePort()
        try startProxy(listen: "127.0.0.1:\(port)")
        let api = "http://127.0.0.1:\(port)"
        try await eventually("the proxy's API answers /health", timeout: .seconds(60)) {
            (try? await send(api, "GET", "/health", body: [], headers: []))?.status == 200
        }
        return api
    }

    func killProxy() { proxy?.stop(signal: SIGKILL) }

    var proxyLog: String { (try? String(contentsOfFile: directory + "/proxy.log", encoding: .utf8)) ?? "" }
    var upstreamLog: String { (try? String(contentsOfFile: directory + "/upstream.log", encoding: .utf8)) ?? "" }

    /// `cimdb proxy ARGS` on the site's database.
    func call(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await cimdb(["proxy"] + arguments + ["--database-url", site])
    }

    /// An integrator's handle.
    func register(_ name: String, _ version: String = "1.0", _ extra: [String] = []) async throws -> String {
        let result = try await call(["register", name, version] + extra)
        guard result.status == 0 else { throw TestFailure("register failed: \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `send-event` with fixed-size fields (so that every such message has the same size).
    func event(_ handle: String, _ id: String, _ extra: [String] = []) async throws -> (status: Int32, output: String) {
        try await call(
            [
                "send-event", "--handle", handle, "--instance", "node01", "--type", "disk", "--event-id", id, "--severity", "major",
                "--state", "opened", "--text", "sdb: reallocated sectors", "--time", "2026-12-03T10:00:00Z",
            ] + extra)
    }

    /// A query off the cooperative pool.
    static func query(_ conninfo: String, _ sql: SQL) async throws -> QueryResult {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result {
                        let connection = try Connection(conninfo)
                        defer { connection.close() }
                        do { return try connection.execute(sql) } catch let error as PostgresError {
                            // What the server said, in the test's report (the description is generic).
                            throw QueryFailure(description: String(reflecting: error))
                        }
                    })
            }
        }
    }

    func siteQuery(_ sql: SQL) async throws -> QueryResult { try await Self.query(site, sql) }
    func centralQuery(_ sql: SQL) async throws -> QueryResult { try await Self.query(central, sql) }

    /// Event ids recorded upstream, in arrival order.
    func received() async throws -> [String] {
        try await centralQuery("SELECT event_id FROM upstream.received ORDER BY seq").compactMap { $0["event_id"] }
    }

    /// Waits until the upstream acknowledged the proxy's registration.
    func waitUntilRegistered() async throws {
        try await eventually("the upstream acknowledged the proxy", timeout: .seconds(60)) {
            try await self.siteQuery("SELECT acknowledged_at IS NOT NULL AS a FROM cimdb.proxy_settings").first?.bool("a") == true
        }
    }

    func waitUntilAcknowledged(_ handle: String) async throws {
        try await eventually("the upstream acknowledged integrator \(handle)", timeout: .seconds(60)) {
            try await self.siteQuery("SELECT acknowledged_at IS NOT NULL AS a FROM cimdb.proxy_integrator WHERE id = \(handle)::uuid").first?
                .bool("a") == true
        }
    }

    /// Queued messages (any kind).
    func queued() async throws -> Int64 {
        try await siteQuery("SELECT count(*) FROM cimdb.proxy_message").first?.int64(0) ?? -1
    }

    /// Discarded or rejected events by rule: event id → rule (0 for rule NULL).
    func discards() async throws -> [String: Int] {
        var result: [String: Int] = [:]
        for row in try await siteQuery("SELECT event_id, coalesce(rule, 0) AS rule FROM cimdb.proxy_discard WHERE kind = 'event'") {
            if let id = row["event_id"] { result[id] = row.int("rule") }
        }
        return result
    }
}

/// What the server said, in a test's report (a PostgresError's description is generic).
struct QueryFailure: Error, CustomStringConvertible { let description: String }

@Suite("remote-services proxy: queue rules, forwarding, registration, throttle, kills", .serialized)
struct ProxyTests {
    @Test(
        "session mode: data dropped before the proxy is acknowledged, an integrator refused before its own; precedence then FIFO, across a kill -9 of the proxy"
    )
    func orderAndSessionMode() async throws {
        let site = try await ProxySite()
        try await site.startUpstream()
        let a = try await site.register("bridge-a")
        // The proxy is not registered upstream yet: the call succeeds, the data is dropped (recorded).
        let early = try await site.event(a, "early")
        #expect(early.status == 0, "\(early.output)")
        #expect(early.output.contains("dropped"))
        #expect(try await site.discards() == ["early": 0])

        try site.startProxy()
        try await site.waitUntilRegistered()
        try await site.waitUntilAcknowledged(a)

        // Forwarding stopped by hand: a new integrator's registration waits, and its data is refused.
        #expect(try await site.call(["stop"]).status == 0)
        let b = try await site.register("bridge-b")
        let refused = try await site.event(b, "refused")
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("has not acknowledged the registration"), "\(refused.output)")

        // Interleaved precedences while stopped, and the proxy killed in between.
        let sends: [(String, String)] = [
            ("n1", "normal"), ("b1", "bulk"), ("u1", "urgent"), ("n2", "normal"), ("b2", "bulk"), ("u2", "urgent"), ("n3", "normal"),
        ]
        for (index, (id, precedence)) in sends.enumerated() {
            let result = try await site.event(a, id, ["--precedence", precedence])
            #expect(result.status == 0, "\(result.output)")
            #expect(UUID(uuidString: result.output.trimmingCharacters(in: .whitespacesAndNewlines)) != nil, "\(result.output)")
            if index == 3 {
                site.killProxy()
                try site.startProxy()
            }
        }
        try await Task.sleep(for: .seconds(1))
        #expect(try await site.received() == [], "forwarded while stopped")
        #expect(try await site.call(["start"]).status == 0)
        try await eventually("every message recorded upstream") { try await site.received().count == 7 }
        #expect(try await site.received() == ["u1", "u2", "n1", "n2", "n3", "b1", "b2"])
        try await site.waitUntilAcknowledged(b)
        #expect(try await site.event(b, "late").status == 0)
        try await eventually("b's event recorded") { try await site.received().last == "late" }
        try await eventually("the queue drains") { try await site.queued() == 0 }
        // Conservation: every successful send is recorded once, or discarded by a named reason.
        let ids = try await site.received()
        #expect(Set(ids).count == ids.count)
        #expect(try await site.siteQuery("SELECT count(*) FROM cimdb.proxy_discard").first?.int64(0) == 1)
    }

    @Test("discard rules 1–5 in the seed's order, the rejection an error (exit 2) that changes nothing; a TTL passed is never forwarded")
    func discardRules() async throws {
        let site = try await ProxySite()
        #expect(try await site.call(["limits", "--mode", "message"]).status == 0)
        let h = try await site.register("bridge")
        // Message mode: data is queued at once. Every event below has the same size.
        #expect(try await site.event(h, "e1", ["--ttl", "2s"]).status == 0)
        let size = try #require(try await site.siteQuery("SELECT bytes FROM cimdb.proxy_message WHERE event_id = 'e1'").first?.int64("bytes"))
        // Room for the integrator's registration (queued by register) and three events.
        let registration = try #require(
            try await site.siteQuery("SELECT coalesce(sum(bytes), 0) AS b FROM cimdb.proxy_message WHERE kind <> 'event'").first?.int64("b"))
        let limits = try await site.call(["limits", "--total-bytes", String(registration + 3 * size)])
        #expect(limits.status == 0, "\(limits.output)")
        #expect(try await site.event(h, "e2", ["--precedence", "bulk"]).status == 0)
        #expect(try await site.event(h, "e3").status == 0)
        try await Task.sleep(for: .milliseconds(2200))  // e1's TTL passes
        // (1) the oldest expired message makes room.
        #expect(try await site.event(h, "e4").status == 0)
        // (2) the oldest bulk message of normal persistence.
        #expect(try await site.event(h, "e5").status == 0)
        // (3) a new bulk message is discarded itself (the call succeeds and says so).
        let bulk = try await site.event(h, "e6", ["--precedence", "bulk"])
        #expect(bulk.status == 0 && bulk.output.contains("rule 3"), "\(bulk.output)")
        // (4) for a new urgent one, the oldest normal message of normal persistence.
        #expect(try await site.event(h, "e7", ["--precedence", "urgent"]).status == 0)
        // (5) otherwise the new message is rejected: an error, and nothing else changed.
        let before = try await site.siteQuery("SELECT string_agg(event_id, ',' ORDER BY id) AS q FROM cimdb.proxy_message WHERE kind = 'event'")
            .first?["q"]
        let rejected = try await site.event(h, "e8")
        #expect(rejected.status == 2, "\(rejected.output)")
        #expect(rejected.output.contains("rejected"))
        #expect(before == "e4,e5,e7")
        #expect(
            try await site.siteQuery("SELECT string_agg(event_id, ',' ORDER BY id) AS q FROM cimdb.proxy_message WHERE kind = 'event'").first?["q"]
                == before)
        #expect(try await site.discards() == ["e1": 1, "e2": 2, "e6": 3, "e3": 4, "e8": 5])
        let rules = try await site.siteQuery("SELECT rule, count FROM report.proxy_discards ORDER BY rule").map {
            "\($0["rule"] ?? "")=\($0["count"] ?? "")"
        }
        #expect(rules == ["1=1", "2=1", "3=1", "4=1", "5=1"])
        #expect(try await site.siteQuery("SELECT count(*) FROM cimdb.proxy_log WHERE what = 'rejected'").first?.int64(0) == 1)
        // A message whose TTL passes before the proxy runs is never forwarded.
        #expect(try await site.call(["limits", "--total-bytes", "0"]).status == 0)
        #expect(try await site.event(h, "p1", ["--ttl", "1s"]).status == 0)
        try await Task.sleep(for: .milliseconds(1200))

        // What is left goes upstream, urgent first; the expired message never does.
        try await site.startUpstream()
        try site.startProxy()
        try await eventually("the queue drains") { try await site.queued() == 0 }
        #expect(try await site.received() == ["e7", "e4", "e5"])
        #expect(try await site.discards()["p1"] == 1, "p1's TTL passed before the proxy ran")
        // Conservation: e1…e7 each recorded or discarded by rule, e8 reported rejected, p1 expired.
        let accounted = Set(try await site.received()).union(try await site.discards().keys)
        #expect(accounted == ["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "p1"])
    }

    @Test("throttle: messages and bytes per period hold; a change applies without a restart; stop and start")
    func throttle() async throws {
        let site = try await ProxySite()
        try await site.startUpstream()
        try site.startProxy()
        try await site.waitUntilRegistered()
        let h = try await site.register("bridge")
        try await site.waitUntilAcknowledged(h)
        #expect(try await site.call(["limits", "--messages-per-period", "3", "--period", "3s"]).status == 0)
        for index in 1...7 { #expect(try await site.event(h, "m\(index)").status == 0) }
        try await eventually("the first period's three") { try await site.received().count >= 3 }
        // Per period of the throttle, never more than three messages.
        try await eventually("all seven, period by period", timeout: .seconds(30)) { try await site.received().count == 7 }
        let periods = try await site.siteQuery("SELECT messages FROM cimdb.proxy_throughput ORDER BY period_start").compactMap {
            $0.int64("messages")
        }
        #expect(periods.allSatisfy { $0 <= 3 } && periods.count >= 3, "messages per period: \(periods)")

        // Bytes per period: two events' worth (the periods counted afresh).
        #expect(try await site.call(["stop"]).status == 0)
        _ = try await site.siteQuery("DELETE FROM cimdb.proxy_throughput")
        #expect(try await site.event(h, "k1").status == 0)
        let oneEvent = try #require(try await site.siteQuery("SELECT bytes FROM cimdb.proxy_message WHERE event_id = 'k1'").first?.int64("bytes"))
        #expect(
            try await site.call(["limits", "--messages-per-period", "0", "--bytes-per-period", String(2 * oneEvent), "--period", "4s"]).status == 0)
        for index in 2...5 { #expect(try await site.event(h, "k\(index)").status == 0) }
        try await Task.sleep(for: .seconds(1))
        #expect(try await site.received().count == 7, "forwarded while stopped")
        #expect(try await site.call(["start"]).status == 0)
        try await eventually("all five k events", timeout: .seconds(30)) { try await site.received().count == 12 }
        let bytes = try await site.siteQuery("SELECT bytes FROM cimdb.proxy_throughput ORDER BY period_start").compactMap { $0.int64("bytes") }
        #expect(bytes.allSatisfy { $0 <= 2 * oneEvent } && bytes.count >= 3, "bytes per period: \(bytes) (limit \(2 * oneEvent))")
        // Unlimited again, at once.
        #expect(try await site.call(["limits", "--bytes-per-period", "unlimited"]).status == 0)
        for index in 1...20 { #expect(try await site.event(h, "f\(index)").status == 0) }
        try await eventually("twenty more without a throttle", timeout: .seconds(10)) { try await site.received().count == 32 }
    }

    @Test("the upstream down for a while, and the proxy killed with kill -9 again and again mid-send: every message recorded once, in order")
    func outagesAndKills() async throws {
        let site = try await ProxySite()
        try await site.startUpstream()
        try site.startProxy()
        try await site.waitUntilRegistered()
        let h = try await site.register("bridge")
        try await site.waitUntilAcknowledged(h)
        site.stopUpstream()
        // A small client program's worth of sends, through the same function the CLI calls.
        let total = 6000
        _ = try await site.siteQuery(
            """
            SELECT cimdb.proxy_enqueue(\(h)::uuid, 'event', 'node01', lpad(g::text, 5, '0'), 'normal', 'normal', NULL,
                                       json_build_object('text', repeat('x', 150), 'n', g)::text)
            FROM generate_series(1, \(total)) g
            """)
        try await Task.sleep(for: .seconds(2))
        try await site.startUpstream()
        // The proxy killed while it drains (batches of 50): before, during and after the
        // upstream's answers.
        site.killProxy()
        try site.startProxy(batch: 50)
        var midDrain = 0
        for _ in 0..<6 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...400)))
            let recorded = try await site.centralQuery("SELECT count(*) FROM upstream.received").first?.int64(0) ?? 0
            if recorded > 0 && recorded < total { midDrain += 1 }
            site.killProxy()
            try site.startProxy(batch: 50)
        }
        #expect(midDrain > 0, "no kill landed while the queue drained")
        try await eventually("every message recorded", timeout: .seconds(120)) {
            try await site.centralQuery("SELECT count(*) FROM upstream.received").first?.int64(0) == Int64(total)
        }
        try await eventually("the queue drains") { try await site.queued() == 0 }
        let ids = try await site.received()
        #expect(ids.count == total)
        #expect(ids == (1...total).map { String(format: "%05d", $0) }, "not in FIFO order, or not exactly once")
        #expect(site.proxyLog.contains("forwarding failed"), "the outage was not noticed")
    }

    @Test("support instances: capabilities must be well-formed; a batch is one registration; deregistration marks inactive with an audit record")
    func supportInstances() async throws {
        let site = try await ProxySite()
        try await site.startUpstream()
        try site.startProxy()
        // --wait returns once the upstream acknowledged the registration: data flows at once.
        let h = try await site.register("bridge", "1.0", ["--wait", "60s"])
        #expect(try await site.event(h, "at-once").status == 0)
        let bad = site.directory + "/bad.xml", good = site.directory + "/caps.xml"
        try "<capabilities><update/></capability>".write(toFile: bad, atomically: true, encoding: .utf8)
        try #"<capabilities><action name="reboot"/></capabilities>"#.write(toFile: good, atomically: true, encoding: .utf8)
        let refused = try await site.call(["instance", "add", "--handle", h, "node01", "--capabilities", bad])
        #expect(refused.status == 1)
        #expect(refused.output.contains("line 1, column"), "\(refused.output)")
        #expect(try await site.siteQuery("SELECT count(*) FROM cimdb.proxy_instance").first?.int64(0) == 0)

        let added = try await site.call(["instance", "add", "--handle", h, "node01", "node02", "--capabilities", good])
        #expect(added.status == 0 && added.output.hasPrefix("2"), "\(added.output)")
        #expect(try await site.call(["instance", "add", "--handle", h, "node01", "--capabilities", good]).output.hasPrefix("0"))
        try await eventually("both instances active upstream") {
            try await site.centralQuery("SELECT count(*) FROM upstream.support_instance WHERE active").first?.int64(0) == 2
        }
        #expect(
            try await site.siteQuery("SELECT count(*) FROM cimdb.proxy_discard").first?.int64(0) == 0
                && site.upstreamLog.contains("dropped") == false)
        #expect(try await site.call(["instance", "rm", "--handle", h, "node02"]).status == 0)
        try await eventually("node02 inactive upstream, its audit record written") {
            try await site.centralQuery(
                "SELECT count(*) FROM upstream.support_instance s JOIN upstream.audit a ON a.external_id = s.external_id AND a.what = 'marked inactive' WHERE NOT s.active AND s.external_id = 'node02' AND s.deregistered_at IS NOT NULL"
            ).first?.int64(0) == 1
        }
        #expect(try await site.call(["instance", "rm", "--handle", h, "node02"]).status == 1, "deregistered twice")
        // Its data stays for reports: an event about it before the deregistration is still there.
        let report = try await site.siteQuery("SELECT instance, active FROM report.proxy_instances ORDER BY instance")
        #expect(report.map { "\($0["instance"] ?? ""):\($0["active"] ?? "")" } == ["node01:t", "node02:f"])

        // Permanent removal upstream: only on request, only an inactive instance, after a grace
        // period, revocable during it; its data goes with it; every step audited.
        // A message about node02, as the upstream holds it.
        _ = try await site.centralQuery(
            "INSERT INTO upstream.message (message_id, proxy, site, support_instance, kind, precedence, header, body) SELECT gen_random_uuid(), s.proxy, s.site, 'node02', 'event', 'normal', '{}'::jsonb, '{}'::jsonb FROM upstream.support_instance s WHERE s.external_id = 'node02'"
        )
        await #expect(throws: (any Error).self, "an active instance cannot be removed") {
            _ = try await site.centralQuery("SELECT upstream.request_removal('rack-a', 'node01', '1 second')")
        }
        _ = try await site.centralQuery("SELECT upstream.request_removal('rack-a', 'node02', '3 seconds')")
        _ = try await site.centralQuery("SELECT upstream.revoke_removal('rack-a', 'node02')")
        try await Task.sleep(for: .seconds(5))
        #expect(try await site.centralQuery("SELECT count(*) FROM upstream.support_instance WHERE external_id = 'node02'").first?.int64(0) == 1)
        _ = try await site.centralQuery("SELECT upstream.request_removal('rack-a', 'node02', '1 second')")
        try await eventually("node02 removed with its data once the grace period passed", timeout: .seconds(30)) {
            try await site.centralQuery("SELECT count(*) FROM upstream.support_instance WHERE external_id = 'node02'").first?.int64(0) == 0
        }
        #expect(try await site.centralQuery("SELECT count(*) FROM upstream.message WHERE support_instance = 'node02'").first?.int64(0) == 0)
        let audit = try await site.centralQuery("SELECT what FROM upstream.audit WHERE external_id = 'node02' ORDER BY id").compactMap { $0["what"] }
        #expect(
            audit == ["registered", "marked inactive", "removal requested", "removal revoked", "removal requested", "removed"], "\(audit)")
    }

    @Test(
        "the back channel: requests routed by destination, held for an offline integrator then delivered, answered on the forward channel; misrouted, malformed and expired ones reported upstream; the proxy's own getStatus"
    )
    func backChannel() async throws {
        let site = try await ProxySite()
        try await site.startUpstream()
        // Answers carry the requests: with a heartbeat each second, an idle proxy still asks often.
        #expect(try await site.call(["limits", "--heartbeat", "1s"]).status == 0)
        try site.startProxy()
        let h = try await site.register("bridge", "1.0", ["--wait", "60s"])
        #expect(try await site.call(["instance", "add", "--handle", h, "node01"]).status == 0)
        try await eventually("node01 registered upstream") {
            try await site.centralQuery("SELECT count(*) FROM upstream.support_instance WHERE external_id = 'node01'").first?.int64(0) == 1
        }
        func request(_ destination: String, _ kind: String, _ body: String? = nil) async throws -> String {
            try #require(
                try await site.centralQuery("SELECT upstream.send_request('rack-a', \(destination), \(kind), \(body))::text AS id").first?["id"])
        }
        func status(_ id: String) async throws -> String? {
            try await site.centralQuery("SELECT status FROM upstream.request WHERE id = \(id)::uuid").first?["status"]
        }
        /// The requests taken, one JSON object per line (their string fields; null ones absent).
        @Sendable func take(_ extra: [String] = []) async throws -> [[String: String]] {
            let result = try await site.call(["requests", "--handle", h] + extra)
            #expect(result.status == 0, "\(result.output)")
            return try result.output.split(separator: "\n").map {
                let object = try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
                return object.compactMapValues { $0 as? String }
            }
        }

        // The integrator is not listening: the request waits at the proxy (the upstream hears
        // it is held), and is delivered, once, when the integrator calls.
        let action = try await request("node01", "managementAction", #"<action id="a1" name="collect"><param>dmi</param></action>"#)
        try await eventually("the request held at the proxy, the upstream told") { try await status(action) == "held" }
        let taken = try await take()
        #expect(taken.count == 1)
        #expect(taken.first?["id"] == action)
        #expect(taken.first?["kind"] == "managementAction" && taken.first?["instance"] == "node01")
        #expect(taken.first?["body"]?.contains(#"name="collect""#) == true)
        #expect(try await take().isEmpty, "a request is delivered once")
        try await eventually("delivered, the upstream told") { try await status(action) == "delivered" }
        // The answer goes on the forward channel, carrying the request id.
        let answer = site.directory + "/dmi.xml"
        try "<dmi><slot/></dmi>".write(toFile: answer, atomically: true, encoding: .utf8)
        let sent = try await site.call(
            [
                "send-data", "--handle", h, "--instance", "node01", "--class", "answer", "--subclass", "collect", "--file", answer, "--mime",
                "application/xml", "--request-id", action,
            ])
        #expect(sent.status == 0, "\(sent.output)")
        try await eventually("answered: the upstream correlated the data with its request") { try await status(action) == "answered" }
        #expect(
            try await site.centralQuery(
                "SELECT count(*) FROM upstream.request r JOIN upstream.message m ON m.message_id = r.answer_message WHERE r.id = \(action)::uuid"
            ).first?.int64(0) == 1)

        // A long poll returns as soon as a request comes (the integrator's own id as destination).
        async let polled = take(["--wait", "60s"])
        try await Task.sleep(for: .seconds(1))
        let capabilities = try await request(h, "getCapabilities")
        let got = try await polled
        #expect(got.map { $0["id"] } == [capabilities])
        #expect(got.first?["instance"] == nil, "addressed to the integrator itself")

        // Routing exceptions: an unknown destination is misrouted, XML that is not well-formed is
        // refused; neither reaches the integrator, and the upstream hears of both.
        let lost = try await request("node99", "getStatus")
        let bad = try await request("node01", "managementAction", #"<action name="x">"#)
        try await eventually("misrouted and malformed reported upstream") {
            let (a, b) = (try await status(lost), try await status(bad))
            return a == "misrouted" && b == "malformed"
        }
        #expect(
            try await site.centralQuery("SELECT detail FROM upstream.request WHERE id = \(bad)::uuid").first?["detail"]?.contains("line 1") == true)
        #expect(try await take().isEmpty)

        // Addressed to the proxy itself: it answers getStatus with its integrators and instances.
        let proxyID = try #require(try await site.siteQuery("SELECT proxy_id::text AS id FROM cimdb.proxy_settings").first?["id"])
        let own = try await request(proxyID, "getStatus")
        try await eventually("the proxy answered getStatus") { try await status(own) == "answered" }
        #expect(
            try await site.centralQuery("SELECT answer->'integrators'->0->'instances'->>0 AS i FROM upstream.request WHERE id = \(own)::uuid")
                .first?["i"] == "node01")

        // The integrator offline longer than the hold: discarded, the upstream told.
        #expect(try await site.call(["limits", "--request-hold", "2s"]).status == 0)
        let late = try await request("node01", "receiveUpdate", #"<update file="https://example.com/bridge-1.1.tar"/>"#)
        try await eventually("expired, the upstream told", timeout: .seconds(60)) { try await status(late) == "expired" }
        #expect(try await take().isEmpty)

        // Conservation: every request ended in a stated status, on both ends.
        let upstream = try await site.centralQuery("SELECT status, count(*) AS n FROM upstream.request GROUP BY status ORDER BY status")
        #expect(
            upstream.map { "\($0["status"] ?? ""):\($0["n"] ?? "")" }
                == ["answered:2", "delivered:1", "expired:1", "malformed:1", "misrouted:1"])
        let report = try await site.siteQuery("SELECT status, requests FROM report.proxy_request_counts")
        #expect(
            report.map { "\($0["status"] ?? ""):\($0["requests"] ?? "")" }
                == ["answered:1", "delivered:2", "expired:1", "malformed:1", "misrouted:1"])
        #expect(site.proxyLog.contains("discarded: their integrator did not take them in time"))
    }

    @Test(
        "the inventory as an integrator: its change events forwarded upstream as events (by class) and as CIM-XML export data (by node), each change once"
    )
    func inventoryFeeds() async throws {
        let site = try await ProxySite()
        try await site.startUpstream()
        let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures/ingest").path
        let apply = try await cimdb(["inventory", "apply", "--default", "--database-url", site.site])
        #expect(apply.status == 0, "\(apply.output)")
        let events = try await site.call(["feed", "add", "--events", "--class", "cim_filesystem", "--precedence", "urgent"])
        #expect(events.status == 0, "\(events.output)")
        let export = try await site.call(["feed", "add", "--export", "--node", "n1", "--precedence", "bulk"])
        #expect(export.status == 0, "\(export.output)")
        let unknown = try await site.call(["feed", "add", "--events", "--class", "CIM_NoSuchClass"])
        #expect(unknown.status == 1 && unknown.output.contains("unknown class CIM_NoSuchClass"), "\(unknown.output)")
        #expect(try await site.call(["feed", "add", "--class", "CIM_FileSystem"]).status != 0, "neither --events nor --export")
        try site.startProxy()
        // Real changes through the ingest: two file systems appear, then one goes.
        for (which, expected) in [("two", "5 created"), ("one", "2 deleted")] {
            let ingested = try await cimdb(
                [
                    "ingest", "discovery", "--node", "n1", "--monitor", "default", "--settings", "ComputerSystem=\(fixtures)/computer-system.rs",
                    "--settings", "FileSystem=\(fixtures)/file-systems-\(which).rs",
                    "--associations", "FileSystem=\(fixtures)/file-systems-\(which).links", "--database-url", site.site,
                ])
            #expect(ingested.status == 0 && ingested.output.contains(expected), "\(ingested.output)")
        }
        let fileSystemEvents = try await site.siteQuery("SELECT id, kind FROM cimdb.event WHERE class_name = 'CIM_FileSystem' ORDER BY id")
        let n1Events = try await site.siteQuery("SELECT count(*) FROM cimdb.event WHERE node = 'n1'").first?.int64(0) ?? 0
        #expect(fileSystemEvents.count == 3 && n1Events == 7, "\(fileSystemEvents.count) file-system events, \(n1Events) of n1")
        let inventory: SQL = "(SELECT id FROM upstream.integrator WHERE name = 'cimdb-inventory')"
        try await eventually("every file-system change upstream as an event", timeout: .seconds(60)) {
            try await site.centralQuery("SELECT count(*) FROM upstream.message WHERE kind = 'event' AND integrator = \(inventory)").first?
                .int64(0) == 3
        }
        let upstream = try await site.centralQuery(
            """
            SELECT event_id, support_instance, precedence, body->>'state' AS state, body->>'type' AS type, body->>'severity' AS severity
            FROM upstream.message WHERE kind = 'event' AND integrator = \(inventory) ORDER BY seq
            """)
        #expect(upstream.map { $0["event_id"] } == fileSystemEvents.map { "cimdb-event-\($0["id"] ?? "")" }, "each change once, in order")
        #expect(upstream.map { $0["state"] } == fileSystemEvents.map { $0["kind"] })
        #expect(upstream.allSatisfy { $0["support_instance"] == "n1" && $0["type"] == "CIM_FileSystem" && $0["precedence"] == "urgent" })
        #expect(upstream.allSatisfy { ["information", "minor", "major"].contains($0["severity"] ?? "") }, "the seed's severities")
        // The export feed: n1's changes as CIM-XML indications, every one once, valid CIM-XML.
        try await eventually("n1's changes upstream as CIM-XML", timeout: .seconds(60)) {
            let documents = try await site.centralQuery(
                "SELECT body->'data'->>'content' AS xml FROM upstream.message WHERE kind = 'data' AND integrator = \(inventory)"
            ).compactMap { $0["xml"] }
            return documents.map { $0.components(separatedBy: "<SIMPLEEXPREQ>").count - 1 }.reduce(0, +) == Int(n1Events)
        }
        let documents = try await site.centralQuery(
            "SELECT body->'data'->>'content' AS xml, precedence FROM upstream.message WHERE kind = 'data' AND integrator = \(inventory) ORDER BY seq")
        #expect(documents.allSatisfy { $0["precedence"] == "bulk" })
        for (index, document) in documents.enumerated() {
            let file = site.directory + "/feed-\(index).xml"
            try (document["xml"] ?? "").write(toFile: file, atomically: true, encoding: .utf8)
            let checked = try await run(
                "/opt/cimxml-venv/bin/python", [repositoryRoot.appendingPathComponent("Tests/crosscheck/cim-xml/check_cimxml.py").path, file])
            #expect(checked.status == 0, "\(file): \(checked.output)")
        }
        #expect(documents.compactMap { $0["xml"] }.joined().contains("CIM_InstDeletion"))
        // The feeds' progress, in SQL and on the command line.
        let feeds = try await site.siteQuery("SELECT what, events_forwarded, last_error FROM report.proxy_feeds ORDER BY id")
        #expect(feeds.map { "\($0["what"] ?? ""):\($0["events_forwarded"] ?? "")" } == ["events:3", "export:\(n1Events)"])
        #expect(try await site.call(["feed", "list"]).output.contains("export"))
        #expect(try await site.call(["feed", "rm", "2"]).status == 0)
        #expect(try await site.call(["feed", "rm", "2"]).status == 1)
    }

    @Test(
        "PostgreSQL killed with kill -9 and restarted mid-run, the site's and then the upstream's: every send that succeeded is recorded upstream once, in order; the proxy carries on"
    )
    func postgresKilled() async throws {
        // The site's and the upstream's databases in clusters of their own (the embedded
        // cluster's settings: commits asynchronous unless a transaction asks), so that killing
        // them leaves the suite's alone.
        let home = try temporaryDirectory("proxy-pg")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let siteCluster = EmbeddedCluster(home: home + "/site", settings: ["fsync": "off"])
        let centralCluster = EmbeddedCluster(home: home + "/central", settings: ["fsync": "off"])
        for cluster in [siteCluster, centralCluster] { _ = try await cluster.start() }
        defer { Task { for cluster in [siteCluster, centralCluster] { try? await cluster.stop() } } }
        let site = try await ProxySite(siteDatabase: siteCluster.connectionString(), centralDatabase: centralCluster.connectionString())
        try await site.startUpstream()
        try site.startProxy()
        let h = try await site.register("bridge", "1.0", ["--wait", "60s"])

        /// Kills the postmaster and every process it started (a crash: recovery at the next start).
        func crash(_ cluster: EmbeddedCluster) async throws {
            let postmaster = try #require(try await cluster.status().pid)
            let children = Self.children(of: postmaster)
            for pid in children + [postmaster] { kill(pid, SIGKILL) }
            try await eventually("the cluster's processes are gone") { !([postmaster] + children).contains(where: isAlive) }
            // Nobody reaps the killed postmaster here (the sandbox's init does not): as a zombie
            // its pid still answers kill(0), and PostgreSQL would take its lock files for a live
            // server's. Gone, as after a machine's crash.
            for lock in [cluster.dataDirectory + "/postmaster.pid", cluster.socketDirectory + "/.s.PGSQL.5432.lock"] {
                try? FileManager.default.removeItem(atPath: lock)
            }
        }
        func restart(_ cluster: EmbeddedCluster) async throws {
            do {
                _ = try await cluster.start()
            } catch let error as PostgresError {
                let log = (try? String(contentsOfFile: cluster.logFile, encoding: .utf8)) ?? ""
                throw QueryFailure(description: "restarting a cluster: \(String(reflecting: error)); its log ends: \(log.suffix(1500))")
            }
        }
        // Sends go on throughout; a send that fails (the database is down) is reported to its
        // sender (exit 2) and may or may not have been queued; one that succeeded must arrive.
        let total = 240
        var succeeded: [String] = []
        var failed: [String] = []
        for n in 1...total {
            let id = String(format: "%05d", n)
            let result = try await site.event(h, id)
            if result.status == 0 {
                succeeded.append(id)
            } else {
                #expect(result.status == 2, "\(id): \(result.output)")
                failed.append(id)
            }
            if n == 80 {
                // The site's: the queue. Sends while it is down fail, and say so (−2).
                try await crash(siteCluster)
                let down = try await site.event(h, "down")
                #expect(down.status == 2, "\(down.output)")
                try await restart(siteCluster)
            }
            if n == 160 {
                // The upstream's, right after what it acknowledged last: nothing it answered 200 for is lost.
                try await eventually("the upstream caught up", timeout: .seconds(60)) { try await site.queued() == 0 }
                try await crash(centralCluster)
                try await Task.sleep(for: .seconds(1))
                try await restart(centralCluster)
            }
        }
        #expect(succeeded.count >= total - 10, "\(failed.count) sends failed: \(failed)")
        try await eventually("the queue drains after the restarts", timeout: .seconds(120)) { try await site.queued() == 0 }
        let received = try await site.received()
        #expect(Set(received).count == received.count, "recorded twice: \(received.count - Set(received).count)")
        #expect(Set(succeeded).isSubset(of: Set(received)), "lost: \(Set(succeeded).subtracting(received).sorted())")
        #expect(Set(received).isSubset(of: Set(succeeded + failed)), "recorded but never sent")
        #expect(received == received.sorted(), "not in FIFO order")
        #expect(site.proxyLog.contains("forwarding failed") && site.proxyLog.contains("forwarding again"), "the outages were not noticed")
        for cluster in [siteCluster, centralCluster] {
            let log = (try? String(contentsOfFile: cluster.logFile, encoding: .utf8)) ?? ""
            #expect(log.contains("was interrupted") && log.contains("redo"), "\(cluster.home): no crash recovery in its log")
        }
    }

    /// The processes whose parent is `pid` (from /proc).
    static func children(of pid: pid_t) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let child = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && pid_t(fields[1]) == pid ? child : nil
        }
    }

    @Test("the upstream records each id once, drops data from an unregistered integrator (and says so), and refuses what is not a batch")
    func upstreamProtocol() async throws {
        let site = try await ProxySite()
        try await site.startUpstream()
        let proxy = UUID().uuidString, integrator = UUID().uuidString, message = UUID().uuidString
        func batch(_ kinds: [(String, String)]) -> [UInt8] {
            let messages = kinds.map { kind, id in
                """
                {"id":"\(id)","kind":"\(kind)","precedence":"normal","persistence":"normal","integrator":"\(integrator)","event_id":"x",\
                "queued_at":"2026-12-03T10:00:00Z","header":{"source":"\(integrator)","source_type":"integrator","routing":"s"},\
                "body":"{\\"name\\":\\"t\\",\\"version\\":\\"1\\"}"}
                """
            }
            return Array(#"{"proxy":"\#(proxy)","site":"s","mode":"message","messages":[\#(messages.joined(separator: ","))]}"#.utf8)
        }
        let headers = [(name: "Content-Type", value: "application/json")]
        let dropped = try await send(site.upstreamURL, "POST", "/v1/messages", body: batch([("event", message)]), headers: headers)
        #expect(dropped.status == 200)
        #expect(String(decoding: dropped.body, as: UTF8.self).contains("is not registered"))
        #expect(try await site.centralQuery("SELECT count(*) FROM upstream.dropped").first?.int64(0) == 1)
        #expect(try await site.centralQuery("SELECT count(*) FROM upstream.received").first?.int64(0) == 0)
        // Registered (in message mode, the registration may come in the same batch), then twice.
        let registered = batch([("register-proxy", UUID().uuidString), ("register-integrator", UUID().uuidString), ("event", message)])
        for _ in 0..<2 { #expect(try await send(site.upstreamURL, "POST", "/v1/messages", body: registered, headers: headers).status == 200) }
        #expect(try await site.centralQuery("SELECT count(*) FROM upstream.received").first?.int64(0) == 1)
        let garbage = try await send(site.upstreamURL, "POST", "/v1/messages", body: Array("{".utf8), headers: headers)
        #expect(garbage.status == 400)
    }

    @Test("the integrator API over HTTP (--listen): a token per integrator; no token 401; −1 as 400, −2 as 503 (rejected); an event forwarded")
    func integratorAPI() async throws {
        let site = try await ProxySite()
        try await site.startUpstream()
        let api = try await site.startProxyWithAPI()
        try await site.waitUntilRegistered()
        let json = [(name: "Content-Type", value: "application/json")]
        func object(_ answer: HTTPAnswer) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])
        }
        let registered = try await send(api, "POST", "/v1/integrators", body: Array(#"{"name":"http-bridge","version":"2"}"#.utf8), headers: json)
        #expect(registered.status == 200)
        let handle = try #require(try object(registered)["handle"] as? String)
        let token = try #require(try object(registered)["token"] as? String)
        #expect(token.count == 64)
        try await site.waitUntilAcknowledged(handle)
        let auth = json + [(name: "Authorization", value: "Bearer \(token)")]
        func event(_ id: String, severity: String = "major", precedence: String = "urgent") -> [UInt8] {
            Array(
                """
                {"event":{"instance":"node01","time":"2026-12-03T10:00:00Z","type":"disk","event_id":"\(id)","severity":"\(severity)",\
                "state":"opened","text":"sdb"},"qos":{"precedence":"\(precedence)","persistence":"normal"}}
                """.utf8)
        }
        #expect(try await send(api, "POST", "/v1/events", body: event("h0"), headers: json).status == 401)
        let wrong = json + [(name: "Authorization", value: "Bearer \(String(repeating: "0", count: 64))")]
        #expect(try await send(api, "POST", "/v1/events", body: event("h0"), headers: wrong).status == 401)
        let badSeverity = try await send(api, "POST", "/v1/events", body: event("h0", severity: "awful"), headers: auth)
        let badSeverityCode = try object(badSeverity)["code"] as? String
        #expect(badSeverity.status == 400 && badSeverityCode == "-1")
        #expect(try await send(api, "POST", "/v1/events", body: event("h0", precedence: "soon"), headers: auth).status == 400)
        let queued = try await send(api, "POST", "/v1/events", body: event("h1"), headers: auth)
        #expect(queued.status == 200)
        #expect(try object(queued)["outcome"] as? String == "queued")
        try await eventually("h1 recorded upstream") { try await site.received() == ["h1"] }
        let instances = try await send(
            api, "POST", "/v1/instances", body: Array(#"{"instances":[{"id":"node01"},{"id":"node02","capabilities":"<c/>"}]}"#.utf8), headers: auth)
        let new = try object(instances)["new"] as? Int
        #expect(instances.status == 200 && new == 2)
        #expect(try await send(api, "DELETE", "/v1/instances/node02", body: [], headers: auth).status == 200)
        // −2: no room (a limit smaller than one event) is a 503 with the rejection recorded.
        #expect(try await site.call(["limits", "--total-bytes", "10"]).status == 0)
        let rejected = try await send(api, "POST", "/v1/events", body: event("h2", precedence: "normal"), headers: auth)
        #expect(rejected.status == 503, "\(String(decoding: rejected.body, as: UTF8.self))")
        let (outcome, code) = (try object(rejected)["outcome"] as? String, try object(rejected)["code"] as? String)
        #expect(outcome == "rejected" && code == "-2")
        #expect(try await site.discards()["h2"] == 5)
        #expect(try await send(api, "GET", "/v1/queue", body: [], headers: []).status == 200)
    }

    @Test(
        "a Swift integrator through ProxyClient: registered, instances, an event and data forwarded, the back channel's long poll answered; refusals with the seed's codes"
    )
    func clientLibrary() async throws {
        let site = try await ProxySite()
        try await site.startUpstream()
        #expect(try await site.call(["limits", "--heartbeat", "1s"]).status == 0)
        let api = try await site.startProxyWithAPI()
        try await site.waitUntilRegistered()
        let client = try await ProxyClient.register(at: api, name: "swift-bridge", version: "3.1")
        try await site.waitUntilAcknowledged(client.handle)
        #expect(try await client.registerInstances([("node01", #"<capabilities><action name="collect"/></capabilities>"#), ("node02", nil)]) == 2)
        await #expect(throws: ProxyClient.Failure.self, "capabilities that are not XML are −1") {
            _ = try await client.registerInstances([("node03", "<capabilities>")])
        }
        try await client.deregisterInstance("node02")
        let event = IntegratorMessage.Event(
            instance: "node01", time: "2026-12-03T10:00:00Z", type: "disk", eventID: "c1", severity: "major", state: "opened", text: "sdb")
        let sent = try await client.send(event, qos: QoS(precedence: .urgent))
        #expect(sent.outcome == "queued" && UUID(uuidString: sent.messageID) != nil)
        do {
            var bad = event
            bad.severity = "awful"
            _ = try await client.send(bad)
            Issue.record("a bad severity was accepted")
        } catch {
            #expect(error.code == -1, "\(error)")
        }
        let stranger = ProxyClient(endpoint: api, handle: client.handle, token: String(repeating: "0", count: 64))
        await #expect(throws: ProxyClient.Failure.parameters("unknown token: register again (POST /v1/integrators)")) {
            _ = try await stranger.send(event)
        }
        try await eventually("c1 recorded upstream") { try await site.received() == ["c1"] }

        // The back channel: a long poll returns the request as it comes; the answer is data.
        async let polled = client.requests(wait: .seconds(60))
        try await Task.sleep(for: .seconds(1))
        let request = try #require(
            try await site.centralQuery("SELECT upstream.send_request('rack-a', 'node01', 'getCapabilities')::text AS id").first?["id"])
        let requests = try await polled
        #expect(requests.map(\.id) == [request] && requests.first?.instance == "node01" && requests.first?.kind == "getCapabilities")
        let capabilities = IntegratorMessage.Payload(
            mime: "application/xml", bytes: Array(#"<capabilities><action name="collect"/></capabilities>"#.utf8))
        let answer = try await client.send(
            IntegratorMessage.Data(instance: "node01", class: "capabilities", subclass: "node01", requestID: request, data: capabilities))
        #expect(answer.outcome == "queued")
        try await eventually("the request answered upstream") {
            try await site.centralQuery("SELECT answer_message::text AS m FROM upstream.request WHERE id = \(request)::uuid").first?["m"]
                == answer.messageID
        }
        #expect(try await client.requests().isEmpty)
    }

    @Test("redundant proxies of one site: the upstream records each event (site, instance, event id, state) and each support instance once")
    func redundantProxies() async throws {
        let a = try await ProxySite(), b = try await ProxySite()
        try await a.startUpstream()
        b.upstreamOverride = a.upstreamURL
        // Heartbeats each second: the answers to them carry the back channel (below).
        for site in [a, b] { #expect(try await site.call(["limits", "--heartbeat", "1s"]).status == 0) }
        try a.startProxy()
        try b.startProxy()
        let ha = try await a.register("bridge", "1.0", ["--wait", "60s"])
        let hb = try await b.register("bridge", "1.0", ["--wait", "60s"])
        #expect(ha != hb, "two proxies, two registrations")
        for (site, handle) in [(a, ha), (b, hb)] {
            #expect(try await site.call(["instance", "add", "--handle", handle, "node01"]).status == 0)
            for id in ["r1", "r2"] { #expect(try await site.event(handle, id).status == 0) }
        }
        #expect(try await b.event(hb, "r3").status == 0)
        let closed = try await b.call(
            [
                "send-event", "--handle", hb, "--instance", "node01", "--type", "disk", "--event-id", "r1", "--severity", "major", "--state",
                "closed",
                "--text", "sdb: replaced", "--time", "2026-12-03T11:00:00Z",
            ])
        #expect(closed.status == 0)
        try await eventually("both queues drained") {
            let (left, right) = (try await a.queued(), try await b.queued())
            return left == 0 && right == 0
        }
        try await eventually("r1 twice (opened, closed), r2 and r3 once") { try await a.received().sorted() == ["r1", "r1", "r2", "r3"] }
        #expect(try await a.centralQuery("SELECT count(*) FROM upstream.support_instance WHERE external_id = 'node01'").first?.int64(0) == 1)
        #expect(try await a.centralQuery("SELECT count(DISTINCT proxy) FROM upstream.message").first?.int64(0) == 2, "both proxies were heard")

        // The back channel to node01 goes through the proxy the upstream first heard it from.
        let first = try #require(
            try await a.centralQuery("SELECT proxy::text AS p FROM upstream.support_instance WHERE external_id = 'node01'").first?["p"])
        let aIsFirst = try await a.siteQuery("SELECT proxy_id::text AS p FROM cimdb.proxy_settings").first?["p"] == first
        let (firstSite, otherSite) = aIsFirst ? (a, b) : (b, a)
        let request = try #require(
            try await a.centralQuery("SELECT upstream.send_request('rack-a', 'node01', 'getCapabilities')::text AS id").first?["id"])
        try await eventually("held at the first-heard proxy") {
            try await firstSite.siteQuery("SELECT status FROM cimdb.proxy_request WHERE id = \(request)::uuid").first?["status"] == "held"
        }
        #expect(try await a.centralQuery("SELECT proxy::text AS p FROM upstream.request WHERE id = \(request)::uuid").first?["p"] == first)
        #expect(try await otherSite.siteQuery("SELECT count(*) FROM cimdb.proxy_request").first?.int64(0) == 0)
    }

    @Test(
        "bulk transfers negotiated apart from the main sender: okay sent, deferred retried with the heartbeat then aborted, rejected dropped with its code; urgent messages never wait"
    )
    func bulkTransfers() async throws {
        let site = try await ProxySite()
        try await site.startUpstream()
        #expect(try await site.call(["limits", "--heartbeat", "1s", "--bulk-attempts", "3", "--bulk-threshold", "4096"]).status == 0)
        try site.startProxy()
        let h = try await site.register("bridge", "1.0", ["--wait", "60s"])
        let file = site.directory + "/dmi.xml"
        try String(repeating: "<slot/>", count: 200).write(toFile: file, atomically: true, encoding: .utf8)
        func data(_ subclass: String, _ extra: [String] = ["--precedence", "bulk"]) async throws -> String {
            let result = try await site.call(
                [
                    "send-data", "--handle", h, "--instance", "node01", "--class", "inventory", "--subclass", subclass, "--file", file, "--mime",
                    "application/xml",
                ]
                    + extra)
            #expect(result.status == 0, "\(result.output)")
            return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func bulkRequests(_ status: String) async throws -> Int64 {
            try await site.centralQuery("SELECT count(*) FROM upstream.bulk_request WHERE status = \(status)").first?.int64(0) ?? -1
        }
        // Okay: negotiated, then sent.
        let okay = try await data("dmi")
        try await eventually("the bulk data recorded upstream") {
            try await site.centralQuery("SELECT count(*) FROM upstream.message WHERE message_id = \(okay)::uuid").first?.int64(0) == 1
        }
        #expect(try await bulkRequests("okay") == 1)
        // Over the threshold, even when normal: negotiated too.
        let large = site.directory + "/large.txt"
        try String(repeating: "x", count: 5000).write(toFile: large, atomically: true, encoding: .utf8)
        let big = try await site.call(
            ["send-data", "--handle", h, "--instance", "node01", "--class", "logs", "--subclass", "syslog", "--file", large, "--mime", "text/plain"])
        #expect(big.status == 0)
        try await eventually("the large normal message negotiated and sent") { try await bulkRequests("okay") == 2 }

        // Deferred: asked again with each heartbeat; after three, dropped and logged. Meanwhile
        // urgent events go at once.
        _ = try await site.centralQuery("UPDATE upstream.bulk_policy SET accepting = false, defer_reason = 'maintenance window'")
        let deferred = try await data("lshw")
        for index in 1...3 {
            let sent = try await site.event(h, "u\(index)", ["--precedence", "urgent"])
            #expect(sent.status == 0)
        }
        try await eventually("urgent events delivered while the bulk transfer is deferred", timeout: .seconds(10)) {
            try await site.received().filter { $0.hasPrefix("u") }.count == 3
        }
        try await eventually("deferred three times, then aborted", timeout: .seconds(30)) {
            try await site.siteQuery("SELECT count(*) FROM cimdb.proxy_log WHERE what = 'bulk aborted'").first?.int64(0) == 1
        }
        #expect(try await bulkRequests("deferred") == 3)
        #expect(try await site.siteQuery("SELECT count(*) FROM cimdb.proxy_log WHERE what = 'bulk deferred'").first?.int64(0) == 2)
        let abortReason = try await site.siteQuery("SELECT reason FROM cimdb.proxy_discard WHERE message_id = \(deferred)::uuid").first?["reason"]
        #expect(abortReason?.contains("maintenance window") == true, "\(abortReason ?? "no discard row")")

        // Rejected: dropped at once, with the upstream's code.
        _ = try await site.centralQuery("UPDATE upstream.bulk_policy SET accepting = true, max_bytes = 100")
        let rejected = try await data("too-big")
        try await eventually("the rejection recorded") {
            try await site.siteQuery("SELECT count(*) FROM cimdb.proxy_discard WHERE message_id = \(rejected)::uuid AND reason LIKE '%too-large%'")
                .first?.int64(0) == 1
        }
        #expect(try await site.siteQuery("SELECT count(*) FROM report.proxy_bulk_transfers WHERE what = 'bulk rejected'").first?.int64(0) == 1)
        try await eventually("the queue drains") { try await site.queued() == 0 }
        // Conservation: sent, or dropped with a reason.
        #expect(try await site.centralQuery("SELECT count(*) FROM upstream.message WHERE kind = 'data'").first?.int64(0) == 2)
    }
}
