import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("cimdb up, down and agent --print", .timeLimit(.minutes(5)))
struct CommandTests {
    @Test("`cimdb up` on a fresh home shows this machine's inventory and a psql command; `cimdb down` stops everything")
    func upAndDown() async throws {
        let home = try temporaryDirectory("home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let environment = ["CIMDB_HOME": home]
        let port = try freePort()
        let up = try Spawned(["up", "--port", String(port), "--node", "upnode"], environment: environment, log: home + "/up.log")
        try await eventually("cimdb up reports it is running", timeout: .seconds(180)) {
            if up.wait() != nil { throw TestFailure("cimdb up exited early:\n\(up.output)") }
            return up.output.contains("cimdb is running")
        }
        let output = up.output
        #expect(output.contains("Inventory of upnode:"))
        #expect(output.contains("CIM_ComputerSystem           1"))
        #expect(output.contains("CIM_Processor"))
        #expect(output.contains("psql 'postgresql://"))
        #expect(output.contains("update monitors"), "progress is shown while it waits")
        // The psql command it prints works.
        let conninfo = try #require(output.split(separator: "\n").first { $0.contains("psql '") }?.split(separator: "'").dropFirst().first)
        let query = try await cimdb([
            "query", "SELECT hostname, cpus FROM report.node_summary WHERE node = 'upnode'", "--format", "csv",
            "--database-url", String(conninfo),
        ])
        #expect(query.status == 0)
        #expect(query.output.contains("upnode,"))

        let down = try await cimdb(["down"], environment: environment)
        #expect(down.status == 0, "\(down.output)")
        let status = up.wait(timeout: .seconds(30))
        #expect(status.map { ($0 >> 8) & 0xFF } == 0, "cimdb up exited cleanly:\n\(up.output)")
        #expect(up.output.contains("stopped the embedded database"))
        #expect(!FileManager.default.fileExists(atPath: home + "/postgres/data/postmaster.pid"))
        let again = try await cimdb(["down"], environment: environment)
        #expect(again.output.contains("not running"))
    }

    @Test("`cimdb agent --once --print` runs the default scripts here and checks every line")
    func printDefault() async throws {
        let result = try await cimdb(["agent", "--once", "--print", "--node", "printnode", "--updates"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ComputerSystem (CIM_ComputerSystem): 1 instance(s)"))
        #expect(result.output.contains(#"Name="printnode""#))
        #expect(result.output.contains("update Processor.CurrentClockSpeed:"))
        #expect(result.output.contains("no problems: the server would accept these results"))
    }

    @Test("`cimdb agent --once --print` shows a script author what the server would reject, with line and column")
    func printFindsProblems() async throws {
        let directory = try temporaryDirectory("print")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try script(directory, "bad.sh", "#!/bin/bash\nprintf 'CIM_ComputerSystem\\036ok\\nCIM_ComputerSystem\\036a\\\\q\\n'\n")
        _ = try script(directory, "assoc.sh", "#!/bin/bash\necho 'CIM_SystemDevice.GroupComponent=\"unterminated'\n")
        try """
        settings:
          S: {class: CIM_ComputerSystem, keyPropertyOrder: [CreationClassName, Name], discoveryScript: bad.sh, associationScript: assoc.sh}
        monitors:
          m: {period: 1m, timeout: 10s, settings: [S], targets: ["*"]}
        """.write(toFile: directory + "/inventory.yaml", atomically: true, encoding: .utf8)
        let result = try await cimdb(["agent", "--once", "--print", "--config", directory + "/inventory.yaml"])
        #expect(result.status == 1)
        #expect(result.output.contains("ERROR discovery output line 2, column 21: invalid escape"))
        #expect(result.output.contains("ERROR association output line 1"))
        #expect(result.output.contains("2 problem(s)"))
    }

    @Test("the default Linux scripts and the bash helpers pass their checks (fixture node and this machine)")
    func defaultScripts() async throws {
        let check = try await run("/bin/bash", [repositoryRoot.appendingPathComponent("Tests/scripts/check-default-scripts.sh").path])
        #expect(check.status == 0, "\(check.output.suffix(4000))")
        let output = check.output
        #expect(output.contains("ok"))
    }
}
