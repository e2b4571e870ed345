import Foundation
import SQLCore
import Store
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue "Task facility", with real processes: PostgreSQL, two `cimdb server`s, `cimdb agent`s
/// with their own names and state directories (or simulated agents in a process of their own,
/// for fan-outs of 65), real commands, and `cimdb task …` run as a user's own PostgreSQL role.
@Suite("tasks: all-or-none authorization, dispatch, limits, cancel and kill", .serialized, .timeLimit(.minutes(6)))
struct TaskTests {
    /// A role name of this test's own (roles are the cluster's, shared by every test database).
    static func uniqueUser() -> String { "user_" + String(UUID().uuidString.prefix(8)).lowercased() }

    /// The installation's connection string, as another role (the embedded cluster trusts local
    /// connections: the socket directory is the cluster owner's).
    static func conninfo(_ installation: Installation, as user: String) -> String {
        guard let at = installation.conninfo.firstIndex(of: "@"), installation.conninfo.hasPrefix("postgresql://") else {
            return installation.conninfo + " user=\(user)"
        }
        return "postgresql://\(user)" + installation.conninfo[at...]
    }

    /// Writes an access file and applies it as the owner.
    static func apply(_ yaml: String, _ installation: Installation) async throws -> String {
        let path = installation.directory + "/access-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let applied = try await cimdb(["access", "apply", path, "--database-url", installation.conninfo])
        guard applied.status == 0 else { throw TestFailure("access apply failed: \(applied.output)") }
        return applied.output
    }

    /// Starts agents (and their fixture directories) and waits until each asks for task work.
    static func startAgents(_ nodes: [String], _ installation: Installation, extra: [String: [String]] = [:]) async throws {
        for node in nodes {
            try installation.setDisks(node, ["d1": 1])
            let saved = installation.agentArguments
            installation.agentArguments += extra[node] ?? []
            try await installation.startAgent(node)
            installation.agentArguments = saved
        }
        try await eventually("agents \(nodes) ask for task work", timeout: .seconds(120)) {
            try await installation.countAsync("SELECT count(*) FROM cimdb.task_agent WHERE node = ANY(\(nodes))") == Int64(nodes.count)
        }
    }

    static func run(_ arguments: [String], as conninfo: String) async throws -> (status: Int32, output: String) {
        try await cimdb(["task"] + arguments + ["--database-url", conninfo])
    }

    static func taskID(_ output: String) -> Int64? {
        output.split(separator: "\n").lazy.compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }.first
    }

    static func state(_ task: Int64, _ installation: Installation) async throws -> String {
        try await installation.queryAsync("SELECT state FROM cimdb.task WHERE id = \(task)").first?["state"] ?? ""
    }

    static func targetState(_ task: Int64, _ node: String, _ installation: Installation) async throws -> String {
        try await installation.queryAsync("SELECT state FROM cimdb.task_target WHERE task = \(task) AND node = \(node)").first?["state"] ?? ""
    }

    /// A file the database server can read (it runs as another user when the tests run as root).
    static func readableFile(_ bytes: [UInt8]) throws -> String {
        let directory = "/tmp/cimdb-task-files-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let path = directory + "/payload"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o644])
        return path
    }

    @Test(
        "all or none, static and dynamic groups, a node that joins later, files, multi-system, parameters, folding, dir:, and no way around the rules from psql"
    )
    func authorizationAndRunning() async throws {
        let installation = try await Installation(servers: 2)
        try await installation.startServer(0)
        try await installation.startServer(1)
        try await Self.startAgents(["n1", "n2", "n3"], installation)
        let user = Self.uniqueUser()
        var payload = [UInt8]((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        payload += Array("\u{0}\r\n end".utf8)
        let source = try Self.readableFile(payload)
        let tools = """
            tools:
              - {name: mark, shell: 'touch "$FIXTURE_DIR/$CIMDB_NODE.mark"'}
              - {name: echo, command: [printf, "%s|", "{msg}", "--{msg}--"], parameters: [{name: msg, required: true}]}
              - {name: copy, command: [cat, payload], files: [{source: \(source), destination: payload}]}
              - {name: broken, command: [cat, x], files: [{source: /nonexistent/cimdb-test-file, destination: x}]}
              - {name: roster, node: n3, shell: 'printf "%s\\n" "$CIMDB_TARGETS"; echo "on $CIMDB_NODE"'}
              - {name: parity, shell: 'if [ "$CIMDB_NODE" = n1 ]; then echo one; else echo other; fi'}
            groups:
              - {name: rack, nodes: ["n[1-2]", n4]}
              - {name: third, where: "node = 'n3'"}
            """
        let base = "users: [{name: \(user)}]\nroles: [{name: ops, tools: [mark, echo, copy, broken, roster, parity]}]\n" + tools
        _ = try await Self.apply(base + "\nauthorizations: [{user: \(user), role: ops, group: rack}]\n", installation)
        let me = Self.conninfo(installation, as: user)

        // All or none: n3 is not authorized, so nothing runs on n1 and n2 either.
        let denied = try await Self.run(["run", "mark", "--nodes", "n[1-3]"], as: me)
        #expect(denied.status != 0)
        #expect(denied.output.contains("not authorized") && denied.output.contains("n3") && denied.output.contains("ops"), "\(denied.output)")
        #expect(!denied.output.contains("n[1-3]") && !denied.output.contains("n1,"), "only the denied target is named: \(denied.output)")
        #expect(try await installation.countAsync("SELECT count(*) FROM cimdb.task") == 0, "a refused task leaves no row")
        try await Task.sleep(for: .seconds(2))
        for node in ["n1", "n2", "n3"] {
            #expect(!FileManager.default.fileExists(atPath: installation.nodeDirectory(node) + ".mark"), "\(node) ran a refused task")
        }

        // The dynamic group authorizes n3 (evaluated at submission).
        let again = try await Self.apply(
            base + "\nauthorizations: [{user: \(user), role: ops, group: rack}, {user: \(user), role: ops, group: third}]\n", installation)
        #expect(again.contains("+ authorization \(user)/ops/group:third"), "\(again)")
        let same = try await Self.apply(
            base + "\nauthorizations: [{user: \(user), role: ops, group: rack}, {user: \(user), role: ops, group: third}]\n", installation)
        #expect(same.contains("no changes"), "applying twice changes nothing: \(same)")
        let marked = try await Self.run(["run", "mark", "--nodes", "n[1-3]"], as: me)
        #expect(marked.status == 0, "\(marked.output)")
        for node in ["n1", "n2", "n3"] {
            #expect(FileManager.default.fileExists(atPath: installation.nodeDirectory(node) + ".mark"), "\(node) did not run the task")
        }

        // A parameter reaches the command as one literal argument, wherever it is placed.
        let nasty = "a; rm -rf / $(touch /tmp/cimdb-pwned) `id` \"q\" 'r'"
        let echoed = try await Self.run(["run", "echo", "--nodes", "n1", "--arg", "msg=\(nasty)"], as: me)
        #expect(echoed.status == 0, "\(echoed.output)")
        let echoTask = try #require(try await installation.queryAsync("SELECT max(id) AS id FROM cimdb.task").first?.int64("id"))
        let printed = try await installation.queryAsync("SELECT stdout FROM report.task_targets WHERE task = \(echoTask)").first?["stdout"]
        #expect(printed == "\(nasty)|--\(nasty)--|")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/cimdb-pwned"))
        let missing = try await Self.run(["run", "echo", "--nodes", "n1"], as: me)
        #expect(missing.status != 0 && missing.output.contains("needs the parameter msg"), "\(missing.output)")
        let unknown = try await Self.run(["run", "echo", "--nodes", "n1", "--arg", "msg=x", "--arg", "zz=1"], as: me)
        #expect(unknown.status != 0 && unknown.output.contains("no parameter zz"), "\(unknown.output)")

        // Files: read by the database at submission, copied byte for byte; dir: one file per node.
        let outputs = installation.directory + "/outputs"
        let copied = try await Self.run(["run", "copy", "--nodes", "n[1-2]", "--output", "dir:\(outputs)"], as: me)
        #expect(copied.status == 0, "\(copied.output.suffix(2000))")
        for node in ["n1", "n2"] {
            #expect(FileManager.default.contents(atPath: outputs + "/" + node).map { [UInt8]($0) } == payload, "\(node)'s copy is not exact")
        }
        let copyTask = try #require(try await installation.queryAsync("SELECT max(id) AS id FROM cimdb.task").first?.int64("id"))
        #expect(try await installation.countAsync("SELECT min(bytes_copied) FROM cimdb.task_target WHERE task = \(copyTask)") == Int64(payload.count))
        // Identical outputs are stored once.
        #expect(try await installation.countAsync("SELECT count(DISTINCT stdout_hash) FROM cimdb.task_target WHERE task = \(copyTask)") == 1)
        let before = try await installation.countAsync("SELECT count(*) FROM cimdb.task")
        let broken = try await Self.run(["run", "broken", "--nodes", "n[1-2]"], as: me)
        #expect(broken.status != 0 && broken.output.contains("cannot read the file /nonexistent/cimdb-test-file"), "\(broken.output)")
        #expect(try await installation.countAsync("SELECT count(*) FROM cimdb.task") == before, "an unreadable file fails before anything is created")

        // Multi-system: once, on its own node, with the targets in CIMDB_TARGETS.
        let roster = try await Self.run(["run", "roster", "--nodes", "n[1-2]"], as: me)
        #expect(roster.status == 0 && roster.output.contains("n1\nn2\non n3"), "\(roster.output)")

        // Folding like clush -b, and per node.
        let parity = try await Self.run(["run", "parity", "--nodes", "n[1-3]"], as: me)
        #expect(parity.output.contains("n[2-3] (2) exit code 0\n---------------\nother\n"), "\(parity.output)")
        #expect(parity.output.contains("n1 (1) exit code 0\n---------------\none\n"), "\(parity.output)")
        let parityTask = try #require(try await installation.queryAsync("SELECT max(id) AS id FROM cimdb.task").first?.int64("id"))
        let unfolded = try await Self.run(["output", String(parityTask), "--no-fold"], as: me)
        #expect(unfolded.output.contains("n2 (1) exit code 0") && unfolded.output.contains("n3 (1) exit code 0"), "\(unfolded.output)")

        // psql cannot go around the rules.
        let session = try Connection(me)
        defer { session.close() }
        for statement: SQL in [
            "INSERT INTO cimdb.task (tool, user_name, definition, targets) VALUES ('mark', 'x', '{}', '{n1}')",
            "UPDATE cimdb.task_target SET state = 'COMPLETE'",
            "INSERT INTO cimdb.task_authorization (user_name, role, node) VALUES (current_user, 'ops', 'n9')",
            "SELECT * FROM cimdb.claim_task_work('evil', '{n1}')",
        ] {
            #expect(throws: PostgresError.self, "\(statement.text) must be refused") { try session.execute(statement) }
        }
        #expect(throws: PostgresError.self) { try session.execute("SELECT cimdb.put_access('role', 'ops', '{\"tools\": []}')") }
        // They can read the reports.
        #expect(try session.execute("SELECT count(*) FROM report.tasks").first?.int64(0) ?? 0 >= 5)

        // Every change to the access configuration is logged, with who and the old and new values.
        #expect(
            try await installation.countAsync("SELECT count(*) FROM cimdb.access_log WHERE object = 'task_authorization' AND new_value IS NOT NULL")
                == 2)

        // A reader (cimdb db grant-reader) reads the task reports, and writes nothing.
        let reader = Self.uniqueUser()
        _ = try await installation.queryAsync("CREATE ROLE \(identifier: reader) LOGIN")
        let granted = try await cimdb(["db", "grant-reader", reader, "--database-url", installation.conninfo])
        #expect(granted.status == 0, "\(granted.output)")
        let reading = try Connection(Self.conninfo(installation, as: reader))
        defer { reading.close() }
        #expect(try reading.execute("SELECT count(*) FROM report.task_targets WHERE task = \(echoTask)").first?.int64(0) == 1)
        #expect(try reading.execute("SELECT count(*) FROM report.tasks").first?.int64(0) ?? 0 >= 5)
        #expect(throws: PostgresError.self) { try reading.execute("SELECT cimdb.submit_task('mark', '{n1}', '{}', '{}')") }

        // Outputs past the retention period are dropped; the targets keep exit codes and sizes.
        _ = try await installation.queryAsync(
            "UPDATE cimdb.task_target SET finished_at = now() - interval '100 days' WHERE task = \(echoTask)")
        _ = try await installation.queryAsync(
            "UPDATE cimdb.task_output SET last_used_at = now() - interval '100 days' WHERE hash IN (SELECT stdout_hash FROM cimdb.task_target WHERE task = \(echoTask))"
        )
        #expect(try await installation.countAsync("SELECT cimdb.forget_old_task_outputs()") >= 1)
        let kept = try #require(
            try await installation.queryAsync("SELECT stdout, exit_code, stdout_size FROM report.task_targets WHERE task = \(echoTask)").first)
        #expect(kept["stdout"] == nil && kept.int("exit_code") == 0 && kept.int64("stdout_size") == Int64(("\(nasty)|--\(nasty)--|").utf8.count))
        #expect(
            try await installation.countAsync("SELECT count(*) FROM report.task_targets WHERE task = \(copyTask) AND stdout IS NOT NULL") == 2,
            "recent outputs stay")

        // ClusterShell group source.
        let groups = try await cimdb(["group", "list", "--database-url", installation.conninfo])
        #expect(groups.output.split(separator: "\n").map(String.init) == ["rack", "third"])
        let rack = try await cimdb(["group", "nodes", "rack", "--database-url", installation.conninfo])
        #expect(rack.output.split(separator: "\n").map(String.init) == ["n1", "n2"])

        // A node that joins the static group later (enrolled now) inherits its authorizations.
        try await Self.startAgents(["n4"], installation)
        let late = try await Self.run(["run", "mark", "--nodes", "n4"], as: me)
        #expect(late.status == 0, "\(late.output)")
        #expect(FileManager.default.fileExists(atPath: installation.nodeDirectory("n4") + ".mark"))
        try? FileManager.default.removeItem(atPath: (source as NSString).deletingLastPathComponent)
    }

    @Test("the limits hold over both servers, from the recorded times: 65 targets never more than 16 in flight; the 11th task waits")
    func limits() async throws {
        let installation = try await Installation(servers: 2)
        try await installation.startServer(0)
        try await installation.startServer(1)
        _ = try await Self.apply("tools: [{name: \"true\", command: [\"true\"]}]\nlimits: {tasks: 10, targets: 16}\n", installation)
        let agents = try Spawned(
            ["bench", "task-agents", "--database-url", installation.conninfo, "--nodes", "sim[01-65]", "--run-milliseconds", "600"]
                + installation.serverURLs.flatMap { ["--server", $0] },
            log: installation.directory + "/simulated.log")
        defer { _ = agents.stop(signal: SIGKILL) }
        try await eventually("65 simulated agents ask for work", timeout: .seconds(120)) {
            try await installation.countAsync("SELECT count(*) FROM cimdb.task_agent") == 65
        }
        let fanout = try await cimdb(["task", "run", "true", "--nodes", "sim[01-65]", "--database-url", installation.conninfo])
        #expect(fanout.status == 0, "\(fanout.output)")
        let task = try #require(try await installation.queryAsync("SELECT max(id) AS id FROM cimdb.task").first?.int64("id"))
        #expect(try await installation.countAsync("SELECT count(*) FROM cimdb.task_target WHERE task = \(task) AND state = 'COMPLETE'") == 65)
        // In flight: from being handed to the agent to the end.
        let most = try await installation.countAsync(
            """
            WITH t AS (SELECT dispatched_at AS s, finished_at AS e FROM cimdb.task_target WHERE task = \(task))
            SELECT max((SELECT count(*) FROM t b WHERE b.s <= a.s AND b.e > a.s)) FROM t a
            """)
        #expect(most <= 16, "\(most) targets were in flight at once")
        #expect(most >= 8, "the fan-out ran mostly one by one (\(most) at once at most)")
        // Both servers handed out work.
        #expect(try await installation.countAsync("SELECT count(DISTINCT claimed_by) FROM cimdb.task_target WHERE task = \(task)") == 2)

        // Eleven tasks at once: at most ten RUNNING, the eleventh waits for one to end.
        var ids: [Int64] = []
        for index in 1...11 {
            let node = String(format: "sim%02d", index)
            let submitted = try await cimdb(["task", "run", "true", "--nodes", node, "--detach", "--database-url", installation.conninfo])
            ids.append(try #require(Self.taskID(submitted.output), "\(submitted.output)"))
        }
        try await eventually("the 11 tasks end", timeout: .seconds(120)) {
            try await installation.countAsync("SELECT count(*) FROM cimdb.task WHERE id = ANY(\(ids)) AND state = 'COMPLETE'") == 11
        }
        let running = try await installation.countAsync(
            """
            WITH t AS (SELECT id, started_at AS s, finished_at AS e FROM cimdb.task WHERE id = ANY(\(ids)))
            SELECT max((SELECT count(*) FROM t b WHERE b.s <= a.s AND b.e > a.s)) FROM t a
            """)
        #expect(running <= 10, "\(running) tasks were RUNNING at once")
        let eleventhStart = try await installation.countAsync(
            """
            SELECT ((extract(epoch FROM (SELECT max(started_at) FROM cimdb.task WHERE id = ANY(\(ids))))
                  - extract(epoch FROM (SELECT min(finished_at) FROM cimdb.task WHERE id = ANY(\(ids))))) * 1000)::bigint
            """)
        #expect(eleventhStart >= 0, "the last task started \(-eleventhStart) ms before any other had ended")
    }

    @Test("capacity refusal and retry, cancel before start, kill and timeout (the process groups are gone), every state reached")
    func capacityCancelKillTimeout() async throws {
        let installation = try await Installation(servers: 1)
        try await installation.startServer(0)
        try await Self.startAgents(["n1", "n2"], installation, extra: ["n1": ["--max-tasks", "1"]])
        let source = try Self.readableFile(Array("payload\n".utf8))
        _ = try await Self.apply(
            """
            tools:
              - {name: hold, shell: 'touch "$FIXTURE_DIR/$CIMDB_NODE.hold-$CIMDB_TASK"; sleep 8; echo held'}
              - {name: mark, shell: 'echo x >> "$FIXTURE_DIR/$CIMDB_NODE.runs"; echo ran'}
              - {name: long, shell: 'sleep 300 & echo $! > "$FIXTURE_DIR/$CIMDB_NODE.child"; echo $$ > "$FIXTURE_DIR/$CIMDB_NODE.pid"; wait'}
              - {name: stuck, shell: 'echo $$ > "$FIXTURE_DIR/$CIMDB_NODE.stuck"; sleep 300', timeout: 2s}
              - {name: odd, shell: 'test "$CIMDB_NODE" = n2'}
              - {name: copy, command: [cat, payload], files: [{source: \(source), destination: payload}]}
            """, installation)
        let owner = installation.conninfo

        // Capacity: n1 runs one target at a time. B's n2 runs at once, its n1 is refused and
        // retried until A's ends. (A holds n1 for 8 s: the window this test process, starved by
        // the other suites' threads, must see it RUNNING in.)
        let a = try #require(Self.taskID(try await Self.run(["run", "hold", "--nodes", "n1", "--detach"], as: owner).output))
        try await eventually("A runs on n1", timeout: .seconds(90)) {
            FileManager.default.fileExists(atPath: installation.nodeDirectory("n1") + ".hold-\(a)")
        }
        let b = try #require(Self.taskID(try await Self.run(["run", "mark", "--nodes", "n[1-2]", "--detach"], as: owner).output))
        try await eventually("B ends", timeout: .seconds(90)) { try await Self.state(b, installation) == "COMPLETE" }
        #expect(
            try await installation.countAsync("SELECT count(*) FROM cimdb.task_runner_state WHERE task = \(b) AND node = 'n1' AND state = 'REFUSED'")
                >= 1)
        #expect(try await installation.countAsync("SELECT refusals FROM cimdb.task_target WHERE task = \(b) AND node = 'n1'") >= 1)
        let order = try #require(
            try await installation.queryAsync(
                """
                SELECT (SELECT finished_at FROM cimdb.task_target WHERE task = \(b) AND node = 'n2') < (SELECT dispatched_at FROM cimdb.task_target WHERE task = \(b) AND node = 'n1') AS other_first,
                       (SELECT finished_at FROM cimdb.task_target WHERE task = \(a)) <= (SELECT started_at FROM cimdb.task_target WHERE task = \(b) AND node = 'n1') + interval '50 ms' AS after_a
                """
            ).first)
        #expect(order.bool("other_first") == true, "the other pending target ran first")
        #expect(order.bool("after_a") == true, "n1 took B only once A was done")

        // Cancel before start: C waits on n1 (at capacity with D), then is cancelled.
        let d = try #require(Self.taskID(try await Self.run(["run", "hold", "--nodes", "n1", "--detach"], as: owner).output))
        try await eventually("D runs on n1", timeout: .seconds(90)) {
            FileManager.default.fileExists(atPath: installation.nodeDirectory("n1") + ".hold-\(d)")
        }
        let c = try #require(Self.taskID(try await Self.run(["run", "mark", "--nodes", "n1", "--detach"], as: owner).output))
        try await eventually("C refused at least once", timeout: .seconds(60)) {
            try await installation.countAsync("SELECT count(*) FROM cimdb.task_runner_state WHERE task = \(c) AND state = 'REFUSED'") >= 1
        }
        let cancelled = try await Self.run(["cancel", String(c)], as: owner)
        #expect(cancelled.output.contains("CANCELLED"), "\(cancelled.output)")
        #expect(try await Self.targetState(c, "n1", installation) == "CANCELLED")
        try await eventually("D ends", timeout: .seconds(60)) { try await Self.state(d, installation) == "COMPLETE" }
        let runs = (try? String(contentsOfFile: installation.nodeDirectory("n1") + ".runs", encoding: .utf8)) ?? ""
        #expect(runs == "x\n", "n1 ran mark once (B), never for the cancelled C: \(runs)")

        // Kill while running: the command and its child are gone before KILLED is reported.
        let k = try #require(Self.taskID(try await Self.run(["run", "long", "--nodes", "n2", "--detach"], as: owner).output))
        let pidFile = installation.nodeDirectory("n2") + ".pid", childFile = installation.nodeDirectory("n2") + ".child"
        try await eventually("long runs", timeout: .seconds(60)) {
            FileManager.default.fileExists(atPath: pidFile) && FileManager.default.fileExists(atPath: childFile)
        }
        let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let child = try #require(Int32(try String(contentsOfFile: childFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(isAlive(pid) && isAlive(child))
        _ = try await Self.run(["kill", String(k)], as: owner)
        try await eventually("the target is KILLED", timeout: .seconds(60)) { try await Self.targetState(k, "n2", installation) == "KILLED" }
        #expect(!isAlive(pid) && !isAlive(child), "the killed command or its child is still running")
        #expect(try await Self.state(k, installation) == "CANCELLED")

        // Timeout: FAILED (timeout), the group killed the same way.
        let t = try await Self.run(["run", "stuck", "--nodes", "n2"], as: owner)
        #expect(t.status != 0 && t.output.contains("FAILED (timeout)"), "\(t.output)")
        let stuck = try #require(
            Int32(
                try String(contentsOfFile: installation.nodeDirectory("n2") + ".stuck", encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines)))
        #expect(!isAlive(stuck))

        // SOME_FAILURES, and a failure cause of exit status.
        let odd = try await Self.run(["run", "odd", "--nodes", "n[1-2]"], as: owner)
        #expect(odd.status != 0 && odd.output.contains("SOME_FAILURES"), "\(odd.output)")
        #expect(
            try await installation.countAsync("SELECT count(*) FROM cimdb.task_target WHERE failure_cause = 'exit status' AND exit_code = 1") == 1)

        // Copying: PENDING, COPYING, RUNNING on the runner; and a target cancelled after it was
        // handed to a (stopped) agent is never started: the runner ends CANCELLED.
        let copy = try await Self.run(["run", "copy", "--nodes", "n2"], as: owner)
        #expect(copy.status == 0 && copy.output.contains("payload"), "\(copy.output)")
        let agent = try #require(installation.agentPID("n2"))
        try await eventually("n2 waits on its long poll", timeout: .seconds(30)) {
            try await installation.countAsync("SELECT count(*) FROM cimdb.task_agent WHERE node = 'n2' AND polled_at > now() - interval '5 s'") == 1
        }
        kill(agent, SIGSTOP)
        var resumed = false
        defer { if !resumed { kill(agent, SIGCONT) } }
        let late = try #require(Self.taskID(try await Self.run(["run", "copy", "--nodes", "n2", "--detach"], as: owner).output))
        try await eventually("handed to the stopped agent", timeout: .seconds(30)) {
            try await installation.countAsync("SELECT count(*) FROM cimdb.task_target WHERE task = \(late) AND dispatched_at IS NOT NULL") == 1
        }
        _ = try await Self.run(["cancel", String(late)], as: owner)
        kill(agent, SIGCONT)
        resumed = true
        try await eventually("the runner reports CANCELLED", timeout: .seconds(60)) {
            try await installation.countAsync("SELECT count(*) FROM cimdb.task_runner_state WHERE task = \(late) AND state = 'CANCELLED'") == 1
        }
        #expect(
            try await installation.countAsync("SELECT count(*) FROM cimdb.task_runner_state WHERE task = \(late) AND state IN ('COPYING', 'RUNNING')")
                == 0)

        // Every state, at least once.
        let taskStates = Set(
            try await installation.queryAsync("SELECT DISTINCT state FROM cimdb.task_transition WHERE node IS NULL").compactMap { $0["state"] })
        #expect(taskStates.isSuperset(of: ["PENDING", "RUNNING", "COMPLETE", "FAILED", "SOME_FAILURES", "CANCELLED"]), "\(taskStates)")
        let targetStates = Set(
            try await installation.queryAsync("SELECT DISTINCT state FROM cimdb.task_transition WHERE node IS NOT NULL").compactMap { $0["state"] })
        #expect(targetStates.isSuperset(of: ["PENDING", "COPYING", "RUNNING", "COMPLETE", "FAILED", "CANCELLED", "KILLED"]), "\(targetStates)")
        let runnerStates = Set(try await installation.queryAsync("SELECT DISTINCT state FROM cimdb.task_runner_state").compactMap { $0["state"] })
        #expect(runnerStates.isSuperset(of: ["PENDING", "COPYING", "RUNNING", "FAILED", "CANCELLED", "KILLED"]), "\(runnerStates)")
        try? FileManager.default.removeItem(atPath: (source as NSString).deletingLastPathComponent)
    }

    @Test(
        "a server killed mid-task: the other finishes it, nothing twice; an agent restarted mid-target: FAILED (agent restarted); an agent gone: FAILED (agent unreachable)"
    )
    func failures() async throws {
        let installation = try await Installation(servers: 2)
        try await installation.startServer(0)
        try await installation.startServer(1)
        try await Self.startAgents(["n1", "n2", "n3"], installation)
        _ = try await Self.apply(
            """
            tools:
              - {name: slow, shell: 'echo x >> "$FIXTURE_DIR/$CIMDB_NODE.runs"; sleep 10; echo done'}
              - {name: long, shell: 'echo $$ > "$FIXTURE_DIR/$CIMDB_NODE.pid"; sleep 300'}
            """, installation)
        let owner = installation.conninfo

        // The agents wait on their current server (the first); kill it while the targets run.
        let task = try #require(Self.taskID(try await Self.run(["run", "slow", "--nodes", "n[1-3]", "--detach"], as: owner).output))
        try await eventually("the targets run", timeout: .seconds(90)) {
            ["n1", "n2", "n3"].allSatisfy { FileManager.default.fileExists(atPath: installation.nodeDirectory($0) + ".runs") }
        }
        let carrier = try await installation.queryAsync("SELECT claimed_by FROM cimdb.task_target WHERE task = \(task) LIMIT 1").first?["claimed_by"]
        let index = carrier == installation.serverName(1) ? 1 : 0
        installation.stopServer(index, signal: SIGKILL)
        try await eventually("the task ends through the other server", timeout: .seconds(90)) {
            try await Self.state(task, installation) == "COMPLETE"
        }
        for node in ["n1", "n2", "n3"] {
            let runs = (try? String(contentsOfFile: installation.nodeDirectory(node) + ".runs", encoding: .utf8)) ?? ""
            #expect(runs == "x\n", "\(node) ran the task \(runs.count / 2) times")
        }
        // New work reaches the agents through the server left.
        let after = try await Self.run(["run", "slow", "--nodes", "n1"], as: owner)
        #expect(after.status == 0, "\(after.output)")

        // An agent killed mid-target and started again: the target ends FAILED (agent restarted).
        let long = try #require(Self.taskID(try await Self.run(["run", "long", "--nodes", "n2", "--detach"], as: owner).output))
        let pidFile = installation.nodeDirectory("n2") + ".pid"
        try await eventually("long runs on n2", timeout: .seconds(60)) { FileManager.default.fileExists(atPath: pidFile) }
        let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        installation.killAgent("n2")
        try await installation.startAgent("n2")
        try await eventually("the target ends FAILED (agent restarted)", timeout: .seconds(60)) {
            try await installation.countAsync("SELECT count(*) FROM cimdb.task_target WHERE task = \(long) AND failure_cause = 'agent restarted'")
                == 1
        }
        #expect(!isAlive(pid), "the command outlived its agent")
        #expect(try await Self.state(long, installation) == "FAILED")

        // An agent that is gone: its target ends FAILED (agent unreachable) after 30 s.
        installation.killAgent("n3")
        try await Task.sleep(for: .seconds(2))
        let gone = try #require(Self.taskID(try await Self.run(["run", "slow", "--nodes", "n3", "--detach"], as: owner).output))
        try await eventually("FAILED (agent unreachable)", timeout: .seconds(120)) {
            try await installation.countAsync("SELECT count(*) FROM cimdb.task_target WHERE task = \(gone) AND failure_cause = 'agent unreachable'")
                == 1
        }
    }
}
