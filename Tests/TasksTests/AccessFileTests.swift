import Foundation
import Inventory
import Testing

@testable import Tasks

@Suite("access file: parsing, errors with their places, the difference")
struct AccessFileTests {
    static let example = """
        users:          [{name: alice, trusted: false}, {name: root2, trusted: true}]
        roles:          [{name: backup, tools: [df, roster]}]
        tools:
          - name: df
            command: [df, -h, "{path}"]
            parameters: [{name: path, required: true}]
            files: [{source: /etc/hosts, destination: hosts}]
            timeout: 60s
          - {name: roster, node: head01, shell: 'echo "$CIMDB_TARGETS" | wc -l', output_cap: 64KiB}
        groups:
          - {name: rack1, nodes: ["n[01-03]", n05]}
          - {name: bigmem, where: "memory_bytes >= 512 * 2^30"}
        authorizations: [{user: alice, role: backup, group: rack1}, {user: alice, role: backup, node: n40}]
        limits: {tasks: 5, targets: 32, output_retention: 30d}
        """

    func parse(_ text: String) throws(ConfigurationErrors) -> [AccessObject] {
        var file = AccessFile(file: "access.yaml")
        return try file.parse(text)
    }

    func object(_ objects: [AccessObject], _ kind: AccessObject.Kind, _ name: String) -> [String: Any]? {
        objects.first { $0.kind == kind && $0.name == name }.flatMap {
            try? JSONSerialization.jsonObject(with: Data($0.definition.utf8)) as? [String: Any]
        }
    }

    @Test("the example reads into objects with defaults filled in, node sets expanded")
    func example() throws {
        let objects = try parse(Self.example)
        #expect(objects.count == 10)  // 2 users, 1 role, 2 tools, 2 groups, 2 authorizations, the limits
        let df = try #require(object(objects, .tool, "df"))
        #expect(df["command"] as? [String] == ["df", "-h", "{path}"])
        #expect((df["timeout_ms"] as? NSNumber)?.intValue == 60_000)
        #expect((df["output_cap"] as? NSNumber)?.intValue == 1 << 20)
        let roster = try #require(object(objects, .tool, "roster"))
        #expect(roster["node"] as? String == "head01" && (roster["output_cap"] as? NSNumber)?.intValue == 65_536)
        #expect(object(objects, .group, "rack1")?["nodes"] as? [String] == ["n01", "n02", "n03", "n05"])
        #expect(object(objects, .group, "bigmem")?["where"] as? String == "memory_bytes >= 512 * 2^30")
        #expect(objects.contains { $0.kind == .authorization && $0.name == "alice/backup/node:n40" })
        let limits = try #require(object(objects, .limits, "limits"))
        #expect((limits["tasks"] as? NSNumber)?.intValue == 5 && limits["output_retention"] as? String == "30 days")
    }

    @Test("every problem at once, each with its line and column")
    func errors() {
        let text = """
            users: [{name: alice, trusted: maybe}]
            roles: [{name: r, tools: [nosuch]}]
            tools:
              - {name: a, command: [x, "{undeclared}"]}
              - {name: b, command: [x], shell: 'y'}
              - {name: c}
              - {name: d, node: head, shell: x, files: [{source: /etc/hosts}]}
              - {name: e, command: [x], timeout: soon}
            groups:
              - {name: g, nodes: ["n[3-1]"]}
              - {name: h, where: "1=1; DROP TABLE x"}
            authorizations: [{user: bob, role: r, node: n1, group: g}]
            bogus: 1
            """
        do {
            _ = try parse(text)
            Issue.record("expected errors")
        } catch {
            let messages = error.errors.map(\.description)
            let all = messages.joined(separator: "\n")
            #expect(all.contains("access.yaml:1:"), "\(all)")
            #expect(all.contains("trusted must be true or false"))
            #expect(all.contains("{undeclared} is not a declared parameter"))
            #expect(all.contains("command or shell, not both"))
            #expect(all.contains("tool c: command (an argv list) or shell (a command line) is needed"))
            #expect(all.contains("a multi-system tool (node:) copies no files"))
            #expect(all.contains("timeout soon is not a duration"))
            #expect(all.contains("reversed range"))
            #expect(all.contains("without ;"))
            #expect(all.contains("exactly one of node and group"))
            #expect(all.contains("unknown key bogus"))
            #expect(all.contains("role r holds tool nosuch"))
            // Places point into the file.
            #expect(messages.contains { $0.hasPrefix("access.yaml:10:") && $0.contains("reversed range") }, "\(all)")
            #expect(messages.contains { $0.hasPrefix("access.yaml:13:1") && $0.contains("bogus") }, "\(all)")
        }
    }

    @Test("the difference: adds, changes and deletes in dependency order; none between a file and its own database form")
    func difference() throws {
        let wanted = try parse(Self.example)
        let fresh = AccessDifference(from: [], to: wanted)
        let kinds = fresh.changes.compactMap { change -> AccessObject.Kind? in if case .add(let o) = change { o.kind } else { nil } }
        #expect(kinds == kinds.sorted(), "users, tools, roles, groups, limits, authorizations")
        #expect(AccessDifference(from: wanted, to: wanted).isEmpty)

        var changed = try parse(Self.example.replacingOccurrences(of: "timeout: 60s", with: "timeout: 2m"))
        changed.removeAll { $0.kind == .authorization && $0.name.hasSuffix("node:n40") }
        let difference = AccessDifference(from: wanted, to: changed)
        #expect(difference.changes.count == 2)
        guard case .delete(let gone) = difference.changes.first else {
            Issue.record("deletes come first: \(difference.changes)")
            return
        }
        #expect(gone.name == "alice/backup/node:n40")
        #expect(difference.changes.last?.description.hasPrefix("~ tool df:") == true)
    }

    @Test("what the database returns (access_configuration) compares equal to the file")
    func databaseForm() throws {
        let wanted = try parse(Self.example)
        // The shape cimdb.access_configuration() returns, keys in another order, defaults present.
        let json = """
            {"users": [{"name": "alice", "trusted": false}, {"name": "root2", "trusted": true}],
             "roles": [{"name": "backup", "tools": ["df", "roster"]}],
             "tools": [{"name": "df", "command": ["df", "-h", "{path}"], "parameters": [{"name": "path", "required": true}],
                        "files": [{"source": "/etc/hosts", "destination": "hosts"}], "timeout_ms": 60000, "output_cap": 1048576},
                       {"name": "roster", "node": "head01", "shell": "echo \\"$CIMDB_TARGETS\\" | wc -l", "parameters": [], "files": [],
                        "timeout_ms": 600000, "output_cap": 65536}],
             "groups": [{"name": "bigmem", "where": "memory_bytes >= 512 * 2^30"}, {"name": "rack1", "nodes": ["n01", "n02", "n03", "n05"]}],
             "authorizations": [{"user": "alice", "role": "backup", "group": "rack1"}, {"user": "alice", "role": "backup", "node": "n40"}],
             "limits": {"tasks": 5, "targets": 32, "output_retention": "30 days"}}
            """
        let current = try AccessFile.objects(fromDatabase: json)
        let difference = AccessDifference(from: current, to: wanted)
        #expect(difference.isEmpty, "\(difference.changes)")
        let yaml = try AccessFile.yaml(fromDatabase: json)
        #expect(yaml.contains("trusted: false") && yaml.contains("timeout: 60s") && yaml.contains("output_retention: 30d"), "\(yaml)")
        #expect(try parse(yaml).count == wanted.count, "show's YAML reads back")
    }
}

@Suite("output folding")
struct OutputFoldingTests {
    @Test("one block per distinct output and ending, headed by the folded node set, largest first; per node without folding")
    func folding() {
        var outcomes: [TargetOutcome] = []
        for i in 1...6 {
            let failed = i == 4
            let output: String = i == 2 ? "two\n" : "same\n"
            outcomes.append(
                TargetOutcome(
                    node: String(format: "n%02d", i), state: failed ? "FAILED" : "COMPLETE", failureCause: failed ? "timeout" : nil,
                    exitCode: failed ? nil : 0, stdout: Array(output.utf8), stderr: []))
        }
        let blocks = OutputFolding.blocks(outcomes)
        #expect(blocks.map { $0.nodes.description } == ["n[01,03,05-06]", "n02", "n04"])
        let text = OutputFolding.render(blocks)
        #expect(text.hasPrefix("---------------\nn[01,03,05-06] (4) exit code 0\n---------------\nsame\n"))
        #expect(text.contains("n04 (1) FAILED (timeout)"))
        #expect(OutputFolding.blocks(outcomes, fold: false).map { $0.nodes.description } == ["n01", "n02", "n03", "n04", "n05", "n06"])
    }

    @Test("a non-zero exit code is shown as such; stderr follows stdout")
    func exitCodes() {
        let text = OutputFolding.render(
            OutputFolding.blocks([
                TargetOutcome(node: "a", state: "FAILED", failureCause: "exit status", exitCode: 3, stdout: [], stderr: Array("oops".utf8))
            ]))
        #expect(text == "---------------\na (1) exit code 3\n---------------\n[stderr]\noops\n")
    }
}
