import AgentProtocol
import Foundation
import Store
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
    import SQLCore
#endif

/// Real processes end to end (issue: agent and server): one PostgreSQL, two `cimdb server`
/// processes, three `cimdb agent` processes with their own fixture nodes.
@Suite("agents and servers", .timeLimit(.minutes(5)))
struct AgentServerTests {
    @Test("enrollment, discovery of every fixture object, a disk removed (update monitor kept while another disk exists)")
    func enrollmentDiscoveryAndRemoval() async throws {
        let installation = try await Installation()
        try await installation.startServer(0)
        try await installation.startServer(1)
        let disks = ["n1": ["d1": 100, "d2": 200], "n2": ["d1": 300], "n3": ["a": 1, "b": 2, "c": 3]]
        for (node, nodeDisks) in disks {
            try installation.setDisks(node, nodeDisks)
            try installation.setCaption(node, "caption of \(node)")
            try await installation.startAgent(node)
        }

        // Enrollment: each agent exchanged its token for a key.
        try await eventually("three nodes enrolled") { try installation.count("SELECT count(*) FROM cimdb.node_credential") == 3 }
        #expect(try installation.count("SELECT count(*) FROM cimdb.enrollment_token WHERE used_at IS NULL") == 0)

        // Discovery of every fixture object, its associations, and the update monitors' values.
        for (node, nodeDisks) in disks {
            try await eventually("\(node)'s file systems and their sizes") {
                try installation.fileSystems(node) == Dictionary(uniqueKeysWithValues: nodeDisks.map { ("/" + $0.key, Int64($0.value)) })
            }
            #expect(try installation.hostedFileSystems(node) == Int64(nodeDisks.count))
            try await eventually("\(node)'s caption") {
                try installation.query("SELECT caption FROM cim.cim_computersystem WHERE name = \(node)").first?["caption"] == "caption of \(node)"
            }
        }
        #expect(try installation.count("SELECT count(*) FROM cimdb.rejected_result") == 0)
        // The servers store node_summary's aggregates in the background: none left to compute.
        try await eventually("every node's hardware aggregates stored by the servers") {
            try installation.count("SELECT count(*) FROM report.node_hardware_dirty") == 0
                && installation.count("SELECT count(*) FROM report.node_hardware WHERE filesystem_bytes > 0") == 3
        }
        // /metrics counts what the servers did: requests, results by outcome, ingest latency, queue depth.
        var metrics = ""
        for url in installation.serverURLs {
            metrics += String(decoding: try await send(url, "GET", "/metrics", body: [], headers: []).body, as: UTF8.self)
        }
        #expect(metrics.contains(#"cimdb_ingest_results_total{kind="discovery",outcome="applied"}"#))
        #expect(metrics.contains(#"cimdb_ingest_results_total{kind="update",outcome="applied"}"#))
        #expect(metrics.contains("cimdb_ingest_latency_seconds_bucket"))
        #expect(metrics.contains(#"cimdb_server_requests_total{route="results",status="200"}"#))
        #expect(metrics.contains("cimdb_ingest_queue_depth_results"))

        // A disk disappears: its instance and association go; the update monitor stays (d1 is left).
        try installation.removeDisk("n1", "d2")
        try await eventually("n1's /d2 deleted") { try installation.fileSystems("n1").keys.sorted() == ["/d1"] }
        #expect(try installation.hostedFileSystems("n1") == 1)
        #expect(
            try installation.count(
                """
                SELECT count(*) FROM cimdb.update_deployment WHERE node = 'n1' AND settings = 'Disk' AND property_name = 'FileSystemSize'
                """) == 1)
        #expect(
            try installation.count(
                """
                SELECT count(*) FROM cimdb.event WHERE node = 'n1' AND kind = 'deleted' AND instance_path LIKE 'CIM_FileSystem.%/d2%'
                """) == 1)
        // A disk appears: created, and no second update monitor.
        try installation.addDisk("n1", "d9", size: 900)
        try await eventually("n1's /d9 created with its size") { try installation.fileSystems("n1")["/d9"] == 900 }
        #expect(try installation.count("SELECT count(*) FROM cimdb.update_deployment WHERE node = 'n1' AND settings = 'Disk'") == 1)
        // The last disk goes: so does the update monitor.
        try installation.setDisks("n1", [:])
        try await eventually("n1's update monitor for disks removed with its last disk") {
            try installation.count("SELECT count(*) FROM cimdb.update_deployment WHERE node = 'n1' AND settings = 'Disk'") == 0
        }
        #expect(try installation.fileSystems("n1").isEmpty)
        #expect(try installation.fileSystems("n3").count == 3, "other nodes keep theirs")
    }

    @Test("one server killed: agents continue through the other; all servers down: agents journal, and every result is applied exactly once")
    func failoverAndJournal() async throws {
        let installation = try await Installation()
        try await installation.startServer(0)
        try await installation.startServer(1)
        for node in ["n1", "n2", "n3"] {
            try installation.setDisks(node, ["d1": 10])
            try installation.setCaption(node, "first")
            try await installation.startAgent(node)
        }
        for node in ["n1", "n2", "n3"] {
            try await eventually("\(node) discovered") { try installation.fileSystems(node) == ["/d1": 10] }
        }

        // Server 1 is killed: the agents go on through server 2.
        installation.stopServer(0, signal: SIGKILL)
        try installation.addDisk("n2", "d2", size: 20)
        try await eventually("n2's new disk arrives through server2") { try installation.fileSystems("n2")["/d2"] == 20 }
        try await eventually("every agent heard by server2") {
            try installation.count("SELECT count(*) FROM cimdb.node WHERE last_server = 'server2' AND last_seen_at > now() - interval '5 seconds'")
                == 3
        }

        // Every server stops: agents keep running and journal their results.
        installation.stopServer(1)
        try installation.addDisk("n1", "d7", size: 70)
        try installation.setCaption("n3", "second")
        try installation.addDisk("n2", "d8", size: 80)
        try await Task.sleep(for: .seconds(4))
        #expect(try installation.fileSystems("n1")["/d7"] == nil, "nothing can arrive while every server is down")
        // n2's agent is killed and restarted meanwhile, after its disk went away again: what it
        // journaled before (d8 present) survives the restart and is delivered before what it
        // finds after (d8 gone).
        installation.killAgent("n2")
        try installation.removeDisk("n2", "d8")
        try await installation.startAgent("n2")
        try await Task.sleep(for: .seconds(3))

        // The servers come back: the journals are delivered, each result applied once.
        try await installation.startServer(0)
        try await installation.startServer(1)
        try await eventually("n1's disk from the outage applied") { try installation.fileSystems("n1")["/d7"] == 70 }
        try await eventually("n3's caption from the outage applied") {
            try installation.query("SELECT caption FROM cim.cim_computersystem WHERE name = 'n3'").first?["caption"] == "second"
        }
        try await eventually("n2's journaled disk applied, then removed by its newer discovery") {
            try installation.count(
                """
                SELECT count(*) FROM cimdb.event WHERE node = 'n2' AND instance_path LIKE 'CIM_FileSystem.%/d8%' AND kind IN ('created', 'deleted')
                """) == 2
        }
        let d8 = try installation.query(
            """
            SELECT kind FROM cimdb.event WHERE node = 'n2' AND instance_path LIKE 'CIM_FileSystem.%/d8%' ORDER BY id
            """
        ).compactMap { $0["kind"] }
        #expect(d8 == ["created", "deleted"], "the journal survived the agent's restart and was delivered in order")
        #expect(try installation.fileSystems("n2").keys.sorted() == ["/d1", "/d2"])
        // Let the agents deliver a few more rounds, then count: one creation, one change.
        try await Task.sleep(for: .seconds(3))
        #expect(
            try installation.count(
                """
                SELECT count(*) FROM cimdb.event WHERE node = 'n1' AND kind = 'created' AND instance_path LIKE 'CIM_FileSystem.%/d7%'
                """) == 1)
        #expect(
            try installation.count(
                """
                SELECT count(*) FROM cimdb.event WHERE node = 'n3' AND kind = 'changed' AND property = 'Caption' AND new_value = 'second'
                """) == 1)
        #expect(try installation.count("SELECT count(*) FROM cimdb.rejected_result") == 0)
        #expect(try installation.count("SELECT count(*) FROM cim.cim_filesystem WHERE csname = 'n1' AND name = '/d7'") == 1)
        for node in ["n1", "n2", "n3"] {
            #expect(
                installation.agentLog(node).contains("results kept in the journal") || installation.agentLog(node).contains("no server answered"),
                "\(node)'s agent noticed the outage")
        }
    }

    @Test("a result over the server's body limit is set aside (kept in the state file) and does not hold up the journal")
    func oversizedResults() async throws {
        let installation = try await Installation(servers: 1)
        try await installation.startServer(0, ["--max-body-bytes", "6000"])
        // 40 disks: the discovery envelope is far over 6000 bytes; each update result is under it.
        try installation.setDisks("n1", Dictionary(uniqueKeysWithValues: (0..<40).map { ("disk-with-a-long-name-\($0)", $0) }))
        try installation.setCaption("n1", "small")
        try await installation.startAgent("n1")
        do {
            try await eventually("the oversized discovery is set aside") {
                installation.agentLog("n1").contains("is over the server's limit: set aside")
            }
        } catch {
            Issue.record("agent log:\n\(installation.agentLog("n1").suffix(3000))\nserver log:\n\(installation.serverLog(0).suffix(2000))")
            throw error
        }
        #expect(try installation.fileSystems("n1").isEmpty)
        // The node's system was never discovered, so nothing else applies either; but the agent
        // is not stuck: it keeps sending (heartbeats, later results) and the server hears it.
        try await eventually("the agent still talks to the server") {
            try installation.count("SELECT count(*) FROM cimdb.node WHERE name = 'n1' AND last_seen_at > now() - interval '3 seconds'") == 1
        }
        let undeliverable = try await run(
            "/usr/bin/env",
            [
                "python3", "-c",
                """
                import sqlite3, sys
                print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*), min(kind) FROM undeliverable").fetchone())
                """, installation.directory + "/agents/n1/state.db",
            ])
        #expect(undeliverable.output.contains("'discovery'"), "\(undeliverable.output)")
    }

    @Test("an agent started before any server retries its enrollment until one answers; --once runs every monitor and delivers")
    func enrollmentRetryAndOnce() async throws {
        let installation = try await Installation(servers: 1)
        try installation.setDisks("n1", ["d1": 11])
        try installation.setCaption("n1", "once")
        try await installation.startAgent("n1")
        // Waited for rather than slept on: a loaded machine may take seconds to start the agent.
        try await eventually("n1 tried and found no server", timeout: .seconds(60)) {
            installation.agentLog("n1").contains("enrollment: no server answered")
        }
        #expect(try installation.count("SELECT count(*) FROM cimdb.node_credential") == 0)
        try await installation.startServer(0)
        try await eventually("n1 enrolled once the server is up") { try installation.count("SELECT count(*) FROM cimdb.node_credential") == 1 }
        try await eventually("n1 discovered") { try installation.fileSystems("n1") == ["/d1": 11] }

        // --once on another node: discovery, delivery, the update monitors it deployed, delivery.
        try installation.setDisks("n2", ["d2": 22])
        try installation.setCaption("n2", "second")
        let token = try #require(
            try await cimdb(["node", "enroll", "n2", "--database-url", installation.conninfo]).output
                .split(separator: "\n").first { $0.hasPrefix("cimdb-") })
        let once = try await cimdb(
            [
                "agent", "--once", "--server", installation.serverURLs[0], "--node", "n2",
                "--state", installation.directory + "/agents/n2-once",
            ], environment: ["FIXTURE_DIR": installation.directory + "/nodes", "CIMDB_TOKEN": String(token)])
        #expect(once.status == 0, "\(once.output)")
        #expect(once.output.contains("ran 1 discovery monitor(s) and 2 update monitor(s); all results delivered"))
        #expect(try installation.fileSystems("n2") == ["/d2": 22])
        #expect(try installation.query("SELECT caption FROM cim.cim_computersystem WHERE name = 'n2'").first?["caption"] == "second")
    }

    @Test("a tampered or replayed request is refused and logged; a signed one is accepted")
    func tamperedAndReplayedRequests() async throws {
        let installation = try await Installation(servers: 1)
        try await installation.startServer(0)
        let enroll = try await cimdb(["node", "enroll", "probe", "--database-url", installation.conninfo])
        let token = try #require(enroll.output.split(separator: "\n").first { $0.hasPrefix("cimdb-") })
        let identity = NodeIdentity(node: "probe")
        let server = installation.serverURLs[0]

        // Enrollment: a wrong token is refused; the right one works once.
        let wrong = try await post(
            server, "/v1/enroll", json: EnrollRequest(node: "probe", token: "cimdb-wrong", publicKey: identity.publicKeyBase64))
        #expect(wrong.status == 403)
        let enrolled = try await post(
            server, "/v1/enroll", json: EnrollRequest(node: "probe", token: String(token), publicKey: identity.publicKeyBase64))
        #expect(enrolled.status == 200)
        let again = try await post(
            server, "/v1/enroll", json: EnrollRequest(node: "probe", token: String(token), publicKey: NodeIdentity(node: "probe").publicKeyBase64))
        #expect(again.status == 403, "a token is single use")

        let body = Array(#"{"agentVersion":"test","journaled":0}"#.utf8)
        let headers = RequestSignature.sign(method: "POST", path: "/v1/heartbeat", body: body, identity: identity)
        let accepted = try await send(server, "POST", "/v1/heartbeat", body: body, headers: headers)
        #expect(accepted.status == 200)

        let replayed = try await send(server, "POST", "/v1/heartbeat", body: body, headers: headers)
        #expect(replayed.status == 401)
        #expect(String(decoding: replayed.body, as: UTF8.self).contains("replayed"))

        var tamperedBody = body
        tamperedBody[tamperedBody.count - 2] = UInt8(ascii: "7")
        let fresh = RequestSignature.sign(method: "POST", path: "/v1/heartbeat", body: body, identity: identity)
        let tampered = try await send(server, "POST", "/v1/heartbeat", body: tamperedBody, headers: fresh)
        #expect(tampered.status == 401)
        #expect(String(decoding: tampered.body, as: UTF8.self).contains("does not have the signed SHA-256"))

        let stranger = NodeIdentity(node: "probe")
        let forged = try await send(
            server, "POST", "/v1/heartbeat", body: body,
            headers: RequestSignature.sign(method: "POST", path: "/v1/heartbeat", body: body, identity: stranger))
        #expect(forged.status == 401, "signed with another key")

        let unsigned = try await send(server, "GET", "/v1/assignments", body: [], headers: [])
        #expect(unsigned.status == 401)

        let stale = try await send(
            server, "POST", "/v1/heartbeat", body: body,
            headers: RequestSignature.sign(
                method: "POST", path: "/v1/heartbeat", body: body, identity: identity, timestamp: RequestSignature.currentMilliseconds() - 3_600_000))
        #expect(stale.status == 401)

        // Logged: in the database and in the server's log.
        let reasons = try installation.query("SELECT reason FROM cimdb.refused_request ORDER BY id").compactMap { $0["reason"] }
        #expect(reasons.contains { $0.contains("replayed") })
        #expect(reasons.filter { $0.contains("signature does not match") }.count == 1)
        #expect(reasons.filter { $0.contains("does not have the signed SHA-256") }.count == 1)
        #expect(reasons.contains { $0.contains("missing header") })
        #expect(reasons.contains { $0.contains("timestamp") })
        #expect(reasons.contains { $0.contains("enrollment token") })
        #expect(installation.serverLog(0).contains("refused POST /v1/heartbeat"))
        // And counted in /metrics.
        let metrics = try await send(server, "GET", "/metrics", body: [], headers: [])
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(text.contains(#"cimdb_server_refused_requests_total{reason="replayed"} 1"#))
        #expect(text.contains("cimdb_ingest_queue_depth_results"))
    }
}

struct HTTPAnswer {
    var status: Int
    var body: Data
}

func post(_ server: String, _ path: String, json: some Encodable) async throws -> HTTPAnswer {
    try await send(server, "POST", path, body: [UInt8](JSONEncoder().encode(json)), headers: [])
}

func send(_ server: String, _ method: String, _ path: String, body: [UInt8], headers: [(name: String, value: String)]) async throws -> HTTPAnswer {
    var request = URLRequest(url: URL(string: server + path)!)
    request.httpMethod = method
    if method == "POST" { request.httpBody = Data(body) }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await URLSession.shared.data(for: request)
    return HTTPAnswer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
}
