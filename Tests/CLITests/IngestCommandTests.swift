import Foundation
import Testing

/// `cimdb inventory` and `cimdb ingest` end to end, on the hand-written outputs in
/// Tests/Fixtures/ingest: the three canonical cases, idempotency through the events table,
/// and rejected input.
@Suite(.serialized) struct IngestCommandTests {
    let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures/ingest").path

    func sql(_ query: String, _ env: [String: String]) async throws -> String {
        let result = try await cimdb(["db", "psql", "--", "-At", "-c", query], environment: env)
        #expect(result.status == 0, "\(result.standardError)")
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func discover(_ fileSystems: String, _ env: [String: String]) async throws -> CommandResult {
        try await cimdb(
            [
                "ingest", "discovery", "--node", "n1", "--monitor", "default",
                "--settings", "ComputerSystem=\(fixtures)/computer-system.rs",
                "--settings", "FileSystem=\(fixtures)/file-systems-\(fileSystems).rs",
                "--associations", "FileSystem=\(fixtures)/file-systems-\(fileSystems).links",
            ], environment: env)
    }

    @Test func canonicalCasesFromFiles() async throws {
        let fresh = try FreshHome(), env = fresh.env
        defer { fresh.remove() }
        #expect(try await cimdb(["migrate"], environment: env).status == 0)
        let apply = try await cimdb(["inventory", "apply", "--default"], environment: env)
        #expect(apply.status == 0, "\(apply.standardError)")
        #expect(apply.standardOutput.contains("+ monitor default"))
        #expect(try await cimdb(["inventory", "apply", "--default"], environment: env).standardOutput == "no changes\n")

        let first = try await discover("two", env)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.contains("5 created"))
        #expect(try await sql("SELECT count(*) FROM cimdb.update_deployment WHERE settings = 'FileSystem'", env) == "2")

        // The same result again changes nothing: no new event.
        let events = try await sql("SELECT count(*) FROM cimdb.event", env)
        #expect(try await discover("two", env).status == 0)
        #expect(try await sql("SELECT count(*) FROM cimdb.event", env) == events)

        // A disk disappears: its instance and association go, the update monitors stay.
        let gone = try await discover("one", env)
        #expect(gone.standardOutput.contains("2 deleted"))
        #expect(try await sql("SELECT count(*) FROM CIM_FileSystem", env) == "1")
        #expect(try await sql("SELECT count(*) FROM CIM_HostedFileSystem", env) == "1")
        #expect(try await sql("SELECT count(*) FROM cimdb.update_deployment WHERE settings = 'FileSystem'", env) == "2")
        #expect(
            try await sql("SELECT string_agg(kind || ' ' || class_name, ',' ORDER BY id) FROM cimdb.event WHERE kind = 'deleted'", env)
                == "deleted CIM_HostedFileSystem,deleted CIM_FileSystem")

        // Disks appear: created, and no second update monitor.
        let appeared = try await discover("three", env)
        #expect(appeared.standardOutput.contains("4 created"))
        #expect(try await sql("SELECT count(*) FROM cimdb.update_deployment WHERE settings = 'FileSystem'", env) == "2")

        // A property changes: the value is updated, an event emitted.
        for file in ["file-system-size-1.rs", "file-system-size-2.rs", "file-system-size-2.rs"] {
            let result = try await cimdb(
                ["ingest", "update", "--node", "n1", "--settings", "FileSystem", "--property", "FileSystemSize", "\(fixtures)/\(file)"],
                environment: env)
            #expect(result.status == 0, "\(result.standardError)")
        }
        #expect(try await sql("SELECT FileSystemSize FROM CIM_FileSystem WHERE Name = '/'", env) == "2000000000")
        #expect(
            try await sql("SELECT old_value || ' -> ' || new_value || ' ' || severity FROM cimdb.event WHERE kind = 'changed'", env)
                == "1000000000 -> 2000000000 info")

        // Bad input: rejected with node, settings, line and column; nothing applied; kept.
        let bad = try await cimdb(
            ["ingest", "update", "--node", "n1", "--settings", "FileSystem", "--property", "FileSystemSize", "\(fixtures)/file-system-size-bad.rs"],
            environment: env)
        #expect(bad.status == 1)
        #expect(
            bad.standardError.contains(
                "node n1, settings FileSystem, property FileSystemSize, update output line 1, column 40: value of the wrong type for CIM_FileSystem.FileSystemSize: \"2 GB\" is not an integer (uint64)"
            ))
        #expect(
            bad.standardError.contains(
                "update output line 2, column 18: expected 5 fields (the key properties in KeyPropertyOrder, then the value of FileSystemSize), found 2"
            ))
        #expect(try await sql("SELECT FileSystemSize FROM CIM_FileSystem WHERE Name = '/'", env) == "2000000000")
        #expect(try await sql("SELECT count(*) FROM cimdb.rejected_result", env) == "1")

        let list = try await cimdb(["inventory", "show", "FileSystem"], environment: env)
        #expect(list.standardOutput.contains("update monitors deployed on 1 node"))
    }

    @Test func inventoryApplyFromAFileWithADryRun() async throws {
        let fresh = try FreshHome(), home = fresh.url, env = fresh.env
        defer { fresh.remove() }
        #expect(try await cimdb(["migrate"], environment: env).status == 0)
        try """
        settings:
          Nodes:
            class: CIM_ComputerSystem
            keyPropertyOrder: [CreationClassName, Name]
            discoveryScript: discover.sh
        monitors:
          nodes: {period: 5m, timeout: 30s, settings: [Nodes]}
        """.write(to: home.appendingPathComponent("site.yaml"), atomically: true, encoding: .utf8)
        try "#!/bin/sh\nhostname\n".write(to: home.appendingPathComponent("discover.sh"), atomically: true, encoding: .utf8)
        let dry = try await cimdb(["inventory", "apply", home.appendingPathComponent("site.yaml").path, "--dry-run"], environment: env)
        #expect(
            dry.standardOutput
                == "+ settings Nodes (CIM_ComputerSystem, 0 properties)\n+ monitor nodes (1 settings every 5m, on *)\n(dry run: nothing changed)\n")
        #expect(try await cimdb(["inventory", "list"], environment: env).standardOutput.contains("no inventory configuration"))
        #expect(try await cimdb(["inventory", "apply", home.appendingPathComponent("site.yaml").path], environment: env).status == 0)
        #expect(try await cimdb(["inventory", "list"], environment: env).standardOutput.contains("Nodes"))
        try "settings:\n  Nodes: {class: CIM_Nothing, keyPropertyOrder: [Name], discoveryScript: discover.sh}\n"
            .write(to: home.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        let bad = try await cimdb(["inventory", "apply", home.appendingPathComponent("bad.yaml").path], environment: env)
        #expect(bad.status == 1)
        #expect(bad.standardError.contains("bad.yaml:2:10: error: settings Nodes: class CIM_Nothing is not in the installed model"))
    }

    /// A truncated envelope and an output over the cap are rejected like any bad result: exit
    /// 1, the place of the error, and the bytes kept in cimdb.rejected_result.
    @Test func truncatedEnvelopesAndOutputsOverTheCapAreKept() async throws {
        let fresh = try FreshHome(), home = fresh.url, env = fresh.env
        defer { fresh.remove() }
        #expect(try await cimdb(["migrate"], environment: env).status == 0)
        #expect(try await cimdb(["inventory", "apply", "--default"], environment: env).status == 0)
        let truncated = home.appendingPathComponent("result.json")
        let text = "{\"format\": \"cimdb-discovery-result/1\",\n \"node\": \"n1\", \"monitor\": \"def"
        try text.write(to: truncated, atomically: true, encoding: .utf8)
        let bad = try await cimdb(["ingest", "discovery", "--envelope", truncated.path], environment: env)
        #expect(bad.status == 1)
        #expect(bad.standardError.contains("\(truncated.path): the discovery envelope is malformed at line 2, column"), "\(bad.standardError)")
        #expect(bad.standardError.contains("kept as cimdb.rejected_result"))
        #expect(
            try await sql(
                "SELECT count(*) FROM cimdb.rejected_result WHERE kind = 'discovery' AND raw = convert_to(\(sqlLiteral(text)), 'UTF8')", env) == "1")

        let big = home.appendingPathComponent("sizes.rs")
        try "CIM_FileSystem\u{1E}CIM_ComputerSystem\u{1E}n1\u{1E}/\u{1E}1000\n".write(to: big, atomically: true, encoding: .utf8)
        let capped = try await cimdb(
            [
                "ingest", "update", "--node", "n1", "--settings", "FileSystem", "--property", "FileSystemSize",
                "--max-output-bytes", "10", big.path,
            ], environment: env)
        #expect(capped.status == 1)
        #expect(
            capped.standardError.contains("node n1, settings FileSystem, property FileSystemSize: the update output is 44 bytes, over the cap of 10"),
            "\(capped.standardError)")
        #expect(try await sql("SELECT count(*) FROM cimdb.rejected_result WHERE kind = 'update' AND node = 'n1'", env) == "1")
    }

    func sqlLiteral(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
}
