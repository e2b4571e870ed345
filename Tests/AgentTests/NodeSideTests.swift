@testable import Agent
import AgentProtocol
import Foundation
import Inventory
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Writes an executable script into `directory`.
func script(_ directory: String, _ name: String, _ text: String) throws -> String {
    let path = directory + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, 0o755)
    return path
}

/// Whether `pid` is a live process (a zombie waiting to be reaped is not).
func isAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
    return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
}

@Suite("scripts, journal and cache on the node")
struct NodeSideTests {
    @Test("a script's output, stderr and exit code are kept byte-exact")
    func runsScripts() async throws {
        let directory = try temporaryDirectory("runner")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try script(directory, "s.sh", "#!/bin/bash\nprintf 'a\\036b\\n\\035\\n'\necho oops >&2\nexit 3\n")
        let run = await ScriptRunner(maximumOutputBytes: 1 << 20).run(path, environment: [:], timeout: .seconds(10))
        #expect(run.ending == .exited(3))
        #expect(run.output == [0x61, 0x1E, 0x62, 0x0A, 0x1D, 0x0A])
        #expect(String(decoding: run.standardError, as: UTF8.self) == "oops\n")
        #expect(run.failure(timeout: .seconds(10), cap: 1 << 20) == "exit code 3")
    }

    @Test("at its timeout the script's whole process group is killed, background children included")
    func timeoutKillsTheGroup() async throws {
        let directory = try temporaryDirectory("runner")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let marker = directory + "/child.pid"
        let path = try script(
            directory, "slow.sh",
            """
            #!/bin/bash
            sleep 300 >/dev/null 2>&1 &
            echo $! > \(marker)
            sleep 300
            """)
        let start = ContinuousClock.now
        let run = await ScriptRunner(maximumOutputBytes: 1 << 20).run(path, environment: [:], timeout: .milliseconds(500))
        #expect(run.ending == .timedOut)
        // Far below the script's 300 s (the timer can fire late when the suite loads both cores).
        #expect(ContinuousClock.now - start < .seconds(60))
        #expect(run.failure(timeout: .milliseconds(500), cap: 1 << 20) == "killed after the 500 ms timeout")
        let child = try #require(Int32(try String(contentsOfFile: marker, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        try await eventually("the background child (pid \(child)) is gone", timeout: .seconds(5)) { !isAlive(child) }
    }

    @Test("a script printing more than the cap fails and is killed")
    func outputCap() async throws {
        let directory = try temporaryDirectory("runner")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try script(directory, "chatty.sh", "#!/bin/bash\nyes cimdb\n")
        // The timeout is far beyond what `yes` needs for 64 KiB, even on a loaded machine: the cap ends it.
        let run = await ScriptRunner(maximumOutputBytes: 64 * 1024).run(path, environment: [:], timeout: .seconds(120))
        #expect(run.ending == .outputTooLarge)
        #expect(run.output.count == 64 * 1024)
    }

    @Test("a missing script is reported, not thrown")
    func missingScript() async {
        let run = await ScriptRunner(maximumOutputBytes: 1024).run("/nonexistent/script", environment: [:], timeout: .seconds(1))
        if case .couldNotStart = run.ending {} else { Issue.record("expected couldNotStart, got \(run.ending)") }
    }

    @Test("the journal numbers results per monitor above every number used before, and survives reopening")
    func journal() async throws {
        let directory = try temporaryDirectory("state")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let before = RequestSignature.currentMilliseconds()
        var numbers: [Int64] = []
        do {
            let state = try await AgentState.open(directory: directory)
            for i in 0..<3 {
                numbers.append(try await state.journal(kind: .update, sequenceName: "update:A.p") { Array("e\($0)-\(i)".utf8) })
            }
            try await state.journal(kind: .discovery, sequenceName: "discovery:m") { _ in Array("d".utf8) }
        }
        #expect(numbers[0] >= before)
        #expect(numbers == numbers.sorted() && Set(numbers).count == 3)
        let state = try await AgentState.open(directory: directory)
        let pending = try await state.pending(maximumBytes: 1 << 20)
        #expect(pending.map(\.kind) == [.update, .update, .update, .discovery])
        #expect(String(decoding: pending[0].envelope, as: UTF8.self) == "e\(numbers[0])-0")
        let next = try await state.journal(kind: .update, sequenceName: "update:A.p") { _ in [] }
        #expect(next > numbers[2])
        try await state.acknowledge(through: pending[1].id)
        #expect(try await state.journaledCount() == 3)
        #expect(try await state.pending(maximumBytes: 1).count == 1, "at least one entry even when it is larger than the limit")
    }

    @Test("the instance cache file has the key names, then the lines as discovered")
    func instanceCache() async throws {
        let directory = try temporaryDirectory("state")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = try await AgentState.open(directory: directory)
        try await state.cacheInstances(
            settings: "Disk", keyPropertyOrder: ["CreationClassName", "Name"],
            output: Array("CIM_FileSystem\u{1E}/a\n\nCIM_FileSystem\u{1E}/b\n".utf8))
        let file = try String(contentsOfFile: state.cacheDirectory + "/Disk", encoding: .utf8)
        #expect(file == "CreationClassName\u{1E}Name\nCIM_FileSystem\u{1E}/a\nCIM_FileSystem\u{1E}/b\n")
        #expect(try await state.cachedInstanceCount(settings: "Disk") == 2)
        #expect(try await state.cachedInstanceCount(settings: "Never") == 0, "never discovered: none")
        try FileManager.default.removeItem(atPath: state.cacheDirectory + "/Disk")
        try await state.restoreCacheFiles()
        #expect(try String(contentsOfFile: state.cacheDirectory + "/Disk", encoding: .utf8) == file, "a lost cache file is written again")
    }

    @Test("children of a settings object that found nothing are skipped; of one that failed, failed (their instances kept)")
    func parentChildSkips() async throws {
        let directory = try temporaryDirectory("local")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try script(directory, "none.sh", "#!/bin/bash\nexit 0\n")
        _ = try script(directory, "fails.sh", "#!/bin/bash\necho broken >&2\nexit 4\n")
        _ = try script(directory, "one.sh", "#!/bin/bash\ncimdb_echo CIM_ComputerSystem \"$CIMDB_NODE\"\n")
        _ = try script(
            directory, "child.sh",
            "#!/bin/bash\ncimdb_instance_cache Parent.Name | while read -r n; do cimdb_echo CIM_FileSystem CIM_ComputerSystem \"$n\" /; done\n")
        let yaml = """
            settings:
              Parent: {class: CIM_ComputerSystem, keyPropertyOrder: [CreationClassName, Name], discoveryScript: one.sh}
              Child: {class: CIM_FileSystem, parent: Parent, keyPropertyOrder: [CreationClassName, CSCreationClassName, CSName, Name], discoveryScript: child.sh}
              Empty: {class: CIM_ComputerSystem, keyPropertyOrder: [CreationClassName, Name], discoveryScript: none.sh}
              EmptyChild: {class: CIM_FileSystem, parent: Empty, keyPropertyOrder: [CreationClassName, CSCreationClassName, CSName, Name], discoveryScript: one.sh}
              Broken: {class: CIM_ComputerSystem, keyPropertyOrder: [CreationClassName, Name], discoveryScript: fails.sh}
              BrokenChild: {class: CIM_FileSystem, parent: Broken, keyPropertyOrder: [CreationClassName, CSCreationClassName, CSName, Name], discoveryScript: one.sh}
            monitors:
              m: {period: 1m, timeout: 10s, settings: [Parent, Child, Empty, EmptyChild, Broken, BrokenChild], targets: ["*"]}
            """
        try yaml.write(toFile: directory + "/inventory.yaml", atomically: true, encoding: .utf8)
        let configuration = try ConfigurationFile.load(directory + "/inventory.yaml")
        let report = try await LocalRun(configuration: configuration, node: "n7", stateDirectory: directory + "/state").run(updates: false)
        let runs = try #require(report.discovery.first).settings
        let status = Dictionary(uniqueKeysWithValues: runs.map { ($0.id, $0.status) })
        #expect(status == ["Parent": .ok, "Child": .ok, "Empty": .ok, "EmptyChild": .skipped, "Broken": .failed, "BrokenChild": .failed])
        #expect(
            String(decoding: runs[1].discovery, as: UTF8.self) == "CIM_FileSystem\u{1E}CIM_ComputerSystem\u{1E}n7\u{1E}/\n",
            "the child read the parent's instances from the cache")
        #expect(runs[4].exitCode == 4 && runs[4].stderr == Array("broken\n".utf8))
        #expect(report.text.contains("Broken (CIM_ComputerSystem): FAILED: discovery script: exit code 4"))
        #expect(report.problems == 2)
    }

    @Test("a credential that is there but unreadable is an error, not \"not enrolled\"")
    func unreadableIdentity() async throws {
        let directory = try temporaryDirectory("state")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = try await AgentState.open(directory: directory)
        #expect(try await state.loadIdentity() == nil, "no file: not enrolled yet")
        try "garbage".write(toFile: state.identityPath, atomically: true, encoding: .utf8)
        await #expect(throws: AgentError.self) { try await state.loadIdentity() }
    }

    @Test("first runs spread over the spread (at most a period), later periods vary by ±5 %")
    func jitter() {
        var generator = SystemRandomNumberGenerator()
        let first = (0..<500).map { _ in Jitter.firstDelay(period: 480_000, spread: .seconds(30), using: &generator) }
        #expect(first.allSatisfy { $0 >= .zero && $0 <= .seconds(30) })
        #expect(Set(first).count > 400, "spread, not one instant")
        #expect(first.contains { $0 < .seconds(10) } && first.contains { $0 > .seconds(20) })
        let short = (0..<100).map { _ in Jitter.firstDelay(period: 2_000, spread: .seconds(30), using: &generator) }
        #expect(short.allSatisfy { $0 <= .seconds(2) }, "never more than one period")
        #expect(Jitter.firstDelay(period: 480_000, spread: .zero, using: &generator) == .zero)
        let next = (0..<500).map { _ in Jitter.nextDelay(period: 480_000, using: &generator) }
        #expect(next.allSatisfy { $0 >= .milliseconds(456_000) && $0 <= .milliseconds(504_000) })
        #expect(Set(next).count > 400)
    }

    @Test("a journal that cannot be read is not reported delivered (finding 13): the results stay, delivery is retried")
    func unreadableJournalIsNotDelivered() async throws {
        let directory = try temporaryDirectory("journal-unreadable")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // An enrolled node (credential and pinned site key in the state), servers unreachable.
        let file = try StateFile(directory: directory)
        try file.saveIdentity(NodeIdentity(node: "n1"))
        try file.saveSiteKeys([SiteKey().public])
        let agent = try await NodeAgent(
            configuration: AgentConfiguration(servers: [URL(string: "http://127.0.0.1:1")!], stateDirectory: directory, node: "n1"),
            logger: Logger(label: "test"))
        _ = try await agent.enroll()
        try await agent.state.journal(kind: .update, sequenceName: "update:x") { _ in Array("{}".utf8) }
        // The journal's table is replaced by one the agent cannot read its entries from.
        let database = try SQLiteDatabase(path: directory + "/state.db")
        try database.execute("ALTER TABLE journal RENAME TO journal_moved; CREATE TABLE journal (unrelated TEXT)")
        #expect(await agent.deliver() == false)
        try database.execute("DROP TABLE journal; ALTER TABLE journal_moved RENAME TO journal")
        #expect(try await agent.state.journaledCount() == 1, "the result is still journaled")
    }
}
