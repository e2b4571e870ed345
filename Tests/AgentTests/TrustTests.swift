@testable import Agent
import AgentProtocol
import Foundation
import Inventory
import SQLCore
import Store
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue "Trust and durability", findings 1–5 and 11, with real servers and agents: a man in
/// the middle on the agents' link, the enrollment token, the state directory's modes, names
/// that would be paths, scripts that outlive their agent.
@Suite("trust: signed answers, secrets, state, scripts", .timeLimit(.minutes(5)))
struct TrustTests {
    /// A script a man in the middle would have agents run: it leaves a mark.
    static func evilScript(mark: String) -> [UInt8] { Array("#!/bin/sh\ntouch '\(mark)'\necho CIM_ComputerSystem\u{1E}pwned\n".utf8) }

    @Test("a man in the middle rewriting assignments or scripts gets nothing run: the agent logs why and keeps what it had")
    func rewrittenAssignmentsAndScriptsAreNotRun() async throws {
        let installation = try await Installation(servers: 1)
        try await installation.startServer(0)
        try installation.setDisks("n1", ["d1": 11])
        let mark = installation.directory + "/pwned"
        let mitm = try await ManInTheMiddle(
            upstream: installation.serverURLs[0], attack: .rewriteAssignments(script: Self.evilScript(mark: mark)), directory: installation.directory)
        defer { mitm.stop() }
        installation.agentServerURLs = [mitm.url]
        try await installation.startAgent("n1")
        try await eventually("the assignments were rewritten and refused") {
            !mitm.rewritten.isEmpty && installation.agentLog("n1").contains("not accepted")
        }
        try await Task.sleep(for: .seconds(3))
        #expect(!FileManager.default.fileExists(atPath: mark), "the man in the middle's script ran")
        #expect(installation.agentLog("n1").contains("the answer's signature does not match it"))
        #expect(try installation.count("SELECT count(*) FROM cim.cim_computersystem WHERE name = 'pwned'") == 0)
        installation.killAgent("n1")

        // Scripts rewritten on the way: refused by hash as before, and now by signature too.
        let scripts = try await ManInTheMiddle(
            upstream: installation.serverURLs[0], attack: .rewriteScripts(script: Self.evilScript(mark: mark)), directory: installation.directory)
        defer { scripts.stop() }
        installation.agentServerURLs = [scripts.url]
        try? FileManager.default.removeItem(atPath: installation.agentState("n1") + "/scripts")
        try await installation.startAgent("n1")
        try await eventually("a script was rewritten") { !scripts.rewritten.isEmpty }
        try await Task.sleep(for: .seconds(3))
        #expect(!FileManager.default.fileExists(atPath: mark), "the man in the middle's script ran")
        #expect(installation.agentLog("n1").contains("not accepted"))
    }

    @Test("a man in the middle acknowledging results keeps nothing from the database: the journal keeps them until a real server settles them")
    func forgedAcknowledgementsDeleteNothing() async throws {
        let installation = try await Installation(servers: 1)
        try await installation.startServer(0)
        try installation.setDisks("n1", ["d1": 11])
        let mitm = try await ManInTheMiddle(upstream: installation.serverURLs[0], attack: .forgeAcknowledgements, directory: installation.directory)
        defer { mitm.stop() }
        installation.agentServerURLs = [mitm.url]
        try await installation.startAgent("n1")
        try await eventually("results were acknowledged by the man in the middle", timeout: .seconds(30)) {
            mitm.rewritten.count >= 3
        }
        #expect(try installation.fileSystems("n1").isEmpty, "nothing reached the database")
        #expect(installation.agentLog("n1").contains("results kept in the journal"))
        #expect(installation.agentLog("n1").contains("not accepted"))
        // The real server gets every one of them.
        installation.killAgent("n1")
        installation.agentServerURLs = nil
        try await installation.startAgent("n1")
        try await eventually("the journal reached the real server") { try installation.fileSystems("n1") == ["/d1": 11] }
    }

    @Test("enrollment through a man in the middle is refused (the answer is not signed by the token's key); the token is never an argument")
    func enrollmentIsPinned() async throws {
        let installation = try await Installation(servers: 1)
        try await installation.startServer(0)
        let mitm = try await ManInTheMiddle(upstream: installation.serverURLs[0], attack: .forgeEnrollment, directory: installation.directory)
        defer { mitm.stop() }
        let enroll = try await cimdb(["node", "enroll", "n9", "--database-url", installation.conninfo])
        let token = try #require(enroll.output.split(separator: "\n").first { $0.hasPrefix("cimdb-") }.map(String.init))
        let fingerprint = try installation.query("SELECT fingerprint FROM cimdb.site_key WHERE state = 'current'").first?["fingerprint"]
        #expect(EnrollmentToken.fingerprint(of: token) == fingerprint)
        #expect(!enroll.output.contains("--token \(token)"), "enroll suggests the token as an argument")

        let state = installation.directory + "/agents/n9"
        let tokenFile = installation.directory + "/n9.token"
        try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        // Through the man in the middle: refused, no credential kept (the server then
        // refuses nothing: the token is still unused).
        let forged = try await cimdb(["agent", "--once", "--server", mitm.url, "--node", "n9", "--state", state, "--token-file", tokenFile])
        #expect(forged.status != 0)
        #expect(forged.output.contains("not accepted"), "\(forged.output)")
        #expect(!FileManager.default.fileExists(atPath: state + "/identity"))
        // As an argument: refused, with the way to do it.
        let argv = try await cimdb(["agent", "--once", "--server", installation.serverURLs[0], "--node", "n9", "--token", token])
        #expect(argv.status != 0)
        #expect(argv.output.contains("--token is not accepted") && argv.output.contains("CIMDB_TOKEN"))
        // From the file, against the real server: enrolled, the key pinned.
        let real = try await cimdb(
            ["agent", "--once", "--server", installation.serverURLs[0], "--node", "n9", "--state", state, "--token-file", tokenFile],
            environment: ["FIXTURE_DIR": installation.directory + "/nodes"])
        #expect(real.status == 0, "\(real.output)")
        #expect(FileManager.default.fileExists(atPath: state + "/identity"))
    }

    @Test("the state directory is 0700 and its files 0600, on creation and repaired at the next start")
    func stateIsPrivate() async throws {
        let installation = try await Installation(servers: 1)
        try await installation.startServer(0)
        try installation.setDisks("n1", ["d1": 11])
        try await installation.startAgent("n1")
        try await eventually("n1 discovered") { try installation.fileSystems("n1") == ["/d1": 11] }
        installation.killAgent("n1")
        let state = installation.agentState("n1")
        /// Mode and whether it is a directory, by path relative to the state directory.
        func modes() -> [String: (mode: Int, isDirectory: Bool)] {
            var out: [String: (Int, Bool)] = [:]
            for relative in [""] + ((FileManager.default.subpaths(atPath: state)) ?? []) {
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: state + "/" + relative),
                    let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue
                else { continue }
                out[relative] = (mode & 0o777, (attributes[.type] as? FileAttributeType) == .typeDirectory)
            }
            return out
        }
        func check(_ when: String) {
            for (path, entry) in modes() {
                let executable = path.hasPrefix("scripts/") && !entry.isDirectory
                let wanted = entry.isDirectory || executable ? 0o700 : 0o600
                #expect(entry.mode == wanted, "\(when): \(path.isEmpty ? "the state directory" : path) has mode \(String(entry.mode, radix: 8))")
            }
        }
        check("created")
        #expect(modes()["state.db"] != nil && modes()["identity"] != nil && modes()["cache"] != nil)
        // An older agent (or a restore) left it readable: repaired at the start.
        chmod(state, 0o755)
        chmod(state + "/state.db", 0o644)
        chmod(state + "/identity", 0o644)
        for file in (try? FileManager.default.contentsOfDirectory(atPath: state + "/cache")) ?? [] { chmod(state + "/cache/" + file, 0o644) }
        try await installation.startAgent("n1")
        try await eventually("the agent started again") { installation.agentLog("n1").components(separatedBy: "starting; state in").count > 2 }
        check("repaired")
    }

    @Test("a script's process group does not outlive its agent unnoticed: the next start kills it and reports the run")
    func scriptsDieWithTheirAgent() async throws {
        let installation = try await Installation(servers: 1, configuration: "slow.yaml")
        try await installation.startServer(0)
        let pidFile = installation.nodeDirectory("n1") + "/slow.pid"
        try FileManager.default.createDirectory(atPath: installation.nodeDirectory("n1"), withIntermediateDirectories: true)
        try await installation.startAgent("n1")
        try await eventually("the slow script runs") { FileManager.default.fileExists(atPath: pidFile) }
        let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, 0) == 0)
        installation.killAgent("n1")
        try await Task.sleep(for: .milliseconds(300))
        #expect(kill(pid, 0) == 0, "the script is still running after its agent was killed (what the next start is for)")
        try await installation.startAgent("n1")
        // The new agent reports the kill once it has started (slow on a loaded machine), then the pid is gone.
        try await eventually("the next start reports the left-over script killed", timeout: .seconds(90)) {
            installation.agentLog("n1").contains("was still running after its agent stopped: killed")
        }
        try await eventually("the left-over script is gone", timeout: .seconds(10)) { !isAlive(pid) }
        #expect(installation.agentLog("n1").contains("discovery slow, settings Slow"))
        // And the monitor run itself is reported: its result never reached the journal.
        #expect(installation.agentLog("n1").contains("discovery slow was interrupted when its agent stopped, before its result was journaled"))
    }

    @Test("names from the server are not paths: assignments naming ../ files are refused, and the state never writes outside its directory")
    func namesAreNotPaths() {
        let settings = """
            {"discovery": [{"monitor": "m", "periodMilliseconds": 1000, "timeoutMilliseconds": 1000, "settings": [
              {"id": "../../../x", "className": "CIM_ComputerSystem", "keyPropertyOrder": ["Name"],
               "discoveryScript": "\(String(repeating: "a", count: 64))", "createdSeverity": "info", "deletedSeverity": "info"}]}],
             "updates": [{"settings": "/etc/passwd", "property": "P", "script": "../x", "periodMilliseconds": 1, "timeoutMilliseconds": 1}]}
            """
        let assignments = try? JSONDecoder().decode(Assignments.self, from: Data(settings.utf8))
        let problems = assignments?.problems ?? []
        #expect(problems.count == 3, "\(problems)")
        #expect(problems.contains { $0.contains("'../../../x'") })
        #expect(problems.contains { $0.contains("'/etc/passwd'") })
        #expect(problems.contains { $0.contains("script '../x' is not a SHA-256") })
        for good in ["ComputerSystem", "disk-associations", "a.b_c"] { #expect(FileName.problem(good) == nil) }
        for bad in ["..", ".", ".hidden", "a/b", "", "a b", String(repeating: "x", count: 201)] { #expect(FileName.problem(bad) != nil, "\(bad)") }
    }

    /// The keys an agent has pinned (its state file, read beside the running agent: WAL).
    static func pinnedKeys(_ state: String) throws -> [String] {
        try StateFile(directory: state).loadSiteKeys().map(\.fingerprint)
    }

    @Test("rotation: a key announced under the old one is pinned by running agents; after finish they work with the new key alone")
    func rotation() async throws {
        let installation = try await Installation(servers: 1)
        try await installation.startServer(0)
        try installation.setDisks("n1", ["d1": 11])
        try await installation.startAgent("n1")
        try await eventually("n1 discovered") { try installation.fileSystems("n1") == ["/d1": 11] }
        let old = try #require(try installation.query("SELECT fingerprint FROM cimdb.site_key WHERE state = 'current'").first?["fingerprint"])
        #expect(try Self.pinnedKeys(installation.agentState("n1")) == [old])

        let rotate = try await cimdb(["site-key", "rotate", "--database-url", installation.conninfo])
        #expect(rotate.status == 0, "\(rotate.output)")
        let new = try #require(try installation.query("SELECT fingerprint FROM cimdb.site_key WHERE state = 'next'").first?["fingerprint"])
        #expect(rotate.output.contains(new))
        // Servers read the keys every 10 s; the agent hears a heartbeat answer every second.
        try await eventually("the agent pinned the announced key", timeout: .seconds(30)) {
            try Self.pinnedKeys(installation.agentState("n1")) == [old, new]
        }
        let again = try await cimdb(["site-key", "rotate", "--database-url", installation.conninfo])
        #expect(again.status != 0 && again.output.contains("already announced"))

        let finish = try await cimdb(["site-key", "finish", "--database-url", installation.conninfo])
        #expect(finish.status == 0, "\(finish.output)")
        try await eventually("the agent dropped the old key", timeout: .seconds(30)) { try Self.pinnedKeys(installation.agentState("n1")) == [new] }
        // And goes on working with the new one.
        try installation.addDisk("n1", "d2", size: 22)
        try await eventually("n1's new disk is discovered") { try installation.fileSystems("n1") == ["/d1": 11, "/d2": 22] }
        let show = try await cimdb(["site-key", "show", "--database-url", installation.conninfo])
        #expect(show.output.contains(new) && show.output.contains("retired"))
        // New tokens name the new key.
        let token = try await cimdb(["node", "enroll", "n2", "--database-url", installation.conninfo]).output
        #expect(token.contains(".\(new)"))
    }

    @Test("a hung server (SIGSTOP) costs an agent seconds, not the 60 s of a request timeout: it delivers through the other")
    func hungServerFailsOver() async throws {
        let installation = try await Installation(servers: 2)
        try await installation.startServer(0)
        try await installation.startServer(1)
        try installation.setDisks("n1", ["d1": 11])
        try await installation.startAgent("n1")
        try await eventually("n1 discovered") { try installation.fileSystems("n1") == ["/d1": 11] }
        // Which server the agent delivers through is its own business (it moves when one fails
        // it, and on a loaded machine one may): stop one without closing its socket; if the
        // agent was on the other, the disk arrives without a timeout, and then the other is
        // stopped — now the agent's current server — and the next disk must cost the timeout.
        for (attempt, index) in [0, 1].enumerated() {
            let stopped = try #require(installation.serverPID(index))
            kill(stopped, SIGSTOP)
            defer { kill(stopped, SIGCONT) }
            let timeouts = installation.agentLog("n1").components(separatedBy: "waiting for the response").count
            // Measured on the wall clock, from the disk's appearance to the database's record of
            // it: the test process's own clock would count the time its threads wait on other suites.
            let added = Date().timeIntervalSince1970
            let disk = "e\(attempt)"
            try installation.addDisk("n1", disk, size: 22)
            try await eventually("n1's new disk is delivered with server \(index + 1) hung", timeout: .seconds(120)) {
                try installation.fileSystems("n1")["/\(disk)"] != nil
            }
            let recorded = try #require(
                try installation.query(
                    "SELECT extract(epoch FROM time)::float8 AS t FROM cimdb.event WHERE kind = 'created' AND instance_path LIKE \("%/\(disk)%") ORDER BY id LIMIT 1"
                ).first?["t"].flatMap(Double.init))
            // Discovery runs every 2 s; the hung server costs its 10 s first-byte timeout, and when
            // it stopped inside a transaction, the other server waits up to 10 s more for the
            // database to end it (idle_in_transaction_session_timeout) and release its locks.
            #expect(recorded - added < 40, "delivery took \(recorded - added) s with server \(index + 1) hung")
            let timedOut = installation.agentLog("n1").components(separatedBy: "waiting for the response").count > timeouts
            if timedOut { return }
            #expect(attempt == 0, "the agent did not time out on its hung current server")
        }
    }

    @Test("a malformed chunked body is a 400 (it was a 500), logged and recorded")
    func malformedChunkedBodyIsA400() async throws {
        let installation = try await Installation(servers: 1)
        try await installation.startServer(0)
        let request =
            "POST /v1/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n"
        let answer = try Self.exchange(port: installation.ports[0], request)
        #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer.prefix(200))")
        try await eventually("the refusal is recorded") {
            try installation.count("SELECT count(*) FROM cimdb.refused_request WHERE status = 400 AND path = '/v1/enroll'") == 1
        }
        #expect(installation.serverLog(0).contains("refused POST /v1/enroll"))
    }

    /// Writes raw bytes to a server and reads its answer until it closes (at most 10 s).
    static func exchange(port: Int, _ text: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw TestFailure("cannot connect to port \(port)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer += buffer[0..<n]
            if String(decoding: answer, as: UTF8.self).contains("\r\n\r\n") && answer.count > 64 { break }
        }
        return String(decoding: answer, as: UTF8.self)
    }

    /// A CA and a server certificate for 127.0.0.1 signed by it, made with the openssl tool.
    static func certificates(in directory: String, name: String = "ca") async throws -> (ca: String, cert: String, key: String) {
        let ca = directory + "/\(name).pem", caKey = directory + "/\(name).key"
        let cert = directory + "/\(name)-server.pem", key = directory + "/\(name)-server.key", request = directory + "/\(name)-server.csr"
        let extensions = directory + "/\(name)-san.cnf"
        try "subjectAltName = IP:127.0.0.1\n".write(toFile: extensions, atomically: true, encoding: .utf8)
        for arguments in [
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", caKey, "-out", ca, "-days", "2",
                "-subj", "/CN=cimdb test CA \(name)",
            ],
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", request, "-subj",
                "/CN=127.0.0.1",
            ],
            ["x509", "-req", "-in", request, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", extensions],
        ] {
            let made = try await run("/usr/bin/openssl", arguments)
            guard made.status == 0 else { throw TestFailure("openssl \(arguments.joined(separator: " ")): \(made.output)") }
        }
        return (ca, cert, key)
    }

    @Test("TLS: a server with --tls-cert/--tls-key, agents on https:// verifying it against --ca; another CA or plain http gets nothing")
    func tls() async throws {
        let installation = try await Installation(servers: 1)
        let (ca, cert, key) = try await Self.certificates(in: installation.directory)
        let (otherCA, _, _) = try await Self.certificates(in: installation.directory, name: "other")
        installation.caFile = ca
        try await installation.startServer(0, ["--tls-cert", cert, "--tls-key", key])
        #expect(installation.serverLog(0).contains("listening on https://"))
        let url = "https://127.0.0.1:\(installation.ports[0])"
        installation.agentServerURLs = [url]
        installation.agentArguments = ["--ca", ca]
        try installation.setDisks("n1", ["d1": 11])
        try await installation.startAgent("n1")
        try await eventually("n1 discovered over TLS") { try installation.fileSystems("n1") == ["/d1": 11] }

        // A server certified by another CA is not trusted: nothing is sent.
        let enroll = try await cimdb(["node", "enroll", "n2", "--database-url", installation.conninfo])
        let token = try #require(enroll.output.split(separator: "\n").first { $0.hasPrefix("cimdb-") }.map(String.init))
        let untrusted = try await cimdb(
            ["agent", "--once", "--server", url, "--ca", otherCA, "--node", "n2", "--state", installation.directory + "/agents/n2"],
            environment: ["CIMDB_TOKEN": token, "FIXTURE_DIR": installation.directory + "/nodes"])
        #expect(untrusted.status != 0)
        #expect(untrusted.output.contains("not trusted"), "\(untrusted.output)")
        // Plain http to the TLS port gets no answer either.
        let plain = try await cimdb(
            [
                "agent", "--once", "--server", "http://127.0.0.1:\(installation.ports[0])", "--node", "n2", "--state",
                installation.directory + "/agents/n2",
            ],
            environment: ["CIMDB_TOKEN": token, "FIXTURE_DIR": installation.directory + "/nodes"])
        #expect(plain.status != 0)
        #expect(try installation.count("SELECT count(*) FROM cimdb.node_credential WHERE node = 'n2'") == 0)
    }
}
