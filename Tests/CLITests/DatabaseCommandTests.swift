import Foundation
import Testing

/// `cimdb db`, `migrate` and `instance` end to end: the built binary, its own embedded
/// PostgreSQL in a fresh $CIMDB_HOME, psql.
@Suite(.serialized) struct DatabaseCommandTests {
    /// Runs `body` with a fresh CIMDB_HOME and stops its cluster afterwards.
    func withHome(_ body: ([String: String]) async throws -> Void) async throws {
        let home = try temporaryDirectory()
        let environment = ["CIMDB_HOME": home.path, "DATABASE_URL": "", "PGHOST": "", "PGDATABASE": ""].filter { !$0.value.isEmpty }
        do {
            try await body(environment)
        } catch {
            _ = try? await cimdb(["db", "stop"], environment: environment)
            try? FileManager.default.removeItem(at: home)
            throw error
        }
        _ = try? await cimdb(["db", "stop"], environment: environment)
        try? FileManager.default.removeItem(at: home)
    }

    @Test func newcomerFlowFromStartToPsql() async throws {
        try await withHome { env in
            let start = try await cimdb(["db", "start"], environment: env)
            #expect(start.status == 0, "\(start.standardError)")
            #expect(start.standardOutput.contains("Started."))
            let again = try await cimdb(["db", "start"], environment: env)
            #expect(again.status == 0)
            #expect(again.standardOutput.contains("Already running."))

            let migrate = try await cimdb(["migrate"], environment: env)
            #expect(migrate.status == 0, "\(migrate.standardError)")
            #expect(migrate.standardOutput.contains("applied 0001_create_cimdb_schema.sql"))
            #expect(migrate.standardOutput.contains("applied 0002_create_default_model.sql"))
            let twice = try await cimdb(["migrate"], environment: env)
            #expect(twice.standardOutput.contains("up to date"))

            let describe = try await cimdb(["db", "psql", "--", "-c", "\\d+ cim_ethernetport"], environment: env)
            #expect(describe.status == 0, "\(describe.standardError)")
            #expect(describe.standardOutput.contains("Ethernet/802.3 MAC addresses formatted as twelve"))
            #expect(describe.standardOutput.contains("Inherits: cim_networkport"))

            for arguments in [
                ["CIM_ComputerSystem", "Name=node1"],
                ["CIM_Processor", "SystemCreationClassName=CIM_ComputerSystem", "SystemName=node1", "DeviceID=cpu0", "CurrentClockSpeed=2400"],
                [
                    "CIM_EthernetPort", "SystemCreationClassName=CIM_ComputerSystem", "SystemName=node1", "DeviceID=eth0", "Speed=1000000000",
                    "NetworkAddresses={001122334455}",
                ],
            ] {
                let added = try await cimdb(["instance", "add"] + arguments, environment: env)
                #expect(added.status == 0, "\(added.standardError)")
            }
            let system = #"CIM_ComputerSystem.CreationClassName="CIM_ComputerSystem",Name="node1""#
            let port =
                #"CIM_EthernetPort.CreationClassName="CIM_EthernetPort",DeviceID="eth0",SystemCreationClassName="CIM_ComputerSystem",SystemName="node1""#
            let link = try await cimdb(
                ["instance", "add", "CIM_SystemDevice", "GroupComponent=\(system)", "PartComponent=\(port)"], environment: env)
            #expect(link.status == 0, "\(link.standardError)")

            let count = try await cimdb(
                ["db", "psql", "--", "-At", "-c", "SELECT count(*) FROM CIM_LogicalDevice", "-c", "SELECT count(*) FROM cim_systemdevice"],
                environment: env)
            #expect(count.standardOutput == "2\n1\n")

            let show = try await cimdb(["instance", "show", port], environment: env)
            #expect(show.standardOutput.contains("NetworkAddresses") && show.standardOutput.contains("001122334455"))

            let removed = try await cimdb(["instance", "rm", port], environment: env)
            #expect(removed.status == 0)
            #expect(removed.standardOutput.contains("and 1 association referencing it"))
            let after = try await cimdb(
                ["db", "psql", "--", "-At", "-c", "SELECT count(*) FROM CIM_LogicalDevice", "-c", "SELECT count(*) FROM cim_systemdevice"],
                environment: env)
            #expect(after.standardOutput == "1\n0\n")

            // The connection string works with psql directly.
            let url = try await cimdb(["db", "url"], environment: env).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            let psql = try await runProgram(URL(fileURLWithPath: "/usr/bin/psql"), [url, "-Atc", "SELECT current_setting('search_path')"])
            #expect(psql.output == "cim, cimdb, public\n")

            let status = try await cimdb(["db", "status"], environment: env)
            #expect(status.status == 0)
            if getuid() == 0 { #expect(status.standardOutput.contains("cimdb runs as root")) }
            let stop = try await cimdb(["db", "stop"], environment: env)
            #expect(stop.standardOutput.contains("Stopped."))
            let stopped = try await cimdb(["db", "status"], environment: env)
            #expect(stopped.status == 3)
        }
    }

    @Test func instanceErrorsAreClear() async throws {
        try await withHome { env in
            #expect(try await cimdb(["migrate"], environment: env).status == 0)
            let range = try await cimdb(
                ["instance", "add", "CIM_Processor", "SystemCreationClassName=C", "SystemName=n", "DeviceID=c", "AddressWidth=70000"],
                environment: env)
            #expect(range.status == 1)
            #expect(range.standardError == "Error: value out of range for CIM_Processor.AddressWidth: 70000 (uint16 is 0…65535)\n")
            #expect(try await cimdb(["instance", "add", "CIM_ComputerSystem", "Name=twice"], environment: env).status == 0)
            let again = try await cimdb(["instance", "add", "CIM_ComputerSystem", "Name=twice"], environment: env)
            #expect(again.status == 1)
            #expect(again.standardError.contains("already exists"))
            let tolerant = try await cimdb(["instance", "add", "--if-not-exists", "CIM_ComputerSystem", "Name=twice"], environment: env)
            #expect(tolerant.status == 0)
            #expect(tolerant.standardOutput == "CIM_ComputerSystem.CreationClassName=\"CIM_ComputerSystem\",Name=\"twice\"\n")
            let unknown = try await cimdb(["instance", "add", "CIM_Nothing", "A=1"], environment: env)
            #expect(unknown.standardError.contains("Error: unknown class 'CIM_Nothing'"))
            let missing = try await cimdb(
                ["instance", "show", #"CIM_ComputerSystem.Name="ghost",CreationClassName="CIM_ComputerSystem""#], environment: env)
            #expect(missing.status == 1)
            #expect(missing.standardError.contains("no instance"))
            let malformed = try await cimdb(["instance", "rm", "CIM_ComputerSystem.Name"], environment: env)
            #expect(malformed.standardError.contains("column 24: expected '=' after Name"))
        }
    }

    @Test func modelEvolutionThroughTheCommandLine() async throws {
        try await withHome { env in
            #expect(try await cimdb(["migrate"], environment: env).status == 0)
            #expect(try await cimdb(["instance", "add", "CIM_ComputerSystem", "Name=keep-me"], environment: env).status == 0)
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try """
            [Description ("An Acme accelerator card.")]
            class Acme_AcceleratorCard : CIM_Card { uint32 Cores; };
            """.write(to: directory.appendingPathComponent("acme.mof"), atomically: true, encoding: .utf8)
            let model = [repositoryRoot.appendingPathComponent("mof/cimdb.mof").path, directory.appendingPathComponent("acme.mof").path]
            let dry = try await cimdb(["migrate", "--model"] + model + ["--dry-run"], environment: env)
            #expect(dry.status == 0, "\(dry.standardError)")
            #expect(dry.standardOutput.contains("+ add class Acme_AcceleratorCard (table acme_acceleratorcard)"))
            #expect(dry.standardOutput.contains("CREATE TABLE cim.acme_acceleratorcard"))
            let apply = try await cimdb(["migrate", "--model"] + model, environment: env)
            #expect(apply.status == 0, "\(apply.standardError)")
            let card = try await cimdb(["instance", "add", "Acme_AcceleratorCard", "Tag=gpu0", "Cores=5120"], environment: env)
            #expect(card.status == 0, "\(card.standardError)")
            let rows = try await cimdb(
                ["db", "psql", "--", "-At", "-c", "SELECT count(*) FROM CIM_PhysicalElement", "-c", "SELECT count(*) FROM CIM_ComputerSystem"],
                environment: env)
            #expect(rows.standardOutput == "1\n1\n")
            // The migrated model's source is stored with it: its class declarations export
            // with the extension's own qualifiers.
            let exported = directory.appendingPathComponent("acme.xml")
            let export = try await cimdb(["export", "--classes", "--class", "Acme_AcceleratorCard", "-o", exported.path], environment: env)
            #expect(export.status == 0, "\(export.standardError)")
            let document = try String(contentsOf: exported, encoding: .utf8)
            #expect(document.contains(#"<CLASS NAME="Acme_AcceleratorCard" SUPERCLASS="CIM_Card">"#))
            #expect(document.contains("An Acme accelerator card."))
            #expect(document.contains(#"<PROPERTY NAME="Cores" TYPE="uint32" CLASSORIGIN="Acme_AcceleratorCard"/>"#))
            // Taking the class away again would drop data: refused without the flag.
            let back = try await cimdb(["migrate", "--model", model[0]], environment: env)
            #expect(back.status == 1)
            #expect(back.standardError.contains("would lose data"))
        }
    }

    func generate(_ arguments: [String]) async throws -> (Int32, String) {
        try await runProgram(cimdbExecutable.deletingLastPathComponent().appendingPathComponent("cimdb-generate"), arguments)
    }

    @Test func generatedFilesAreCurrent() async throws {
        let (status, output) = try await generate(["--check", repositoryRoot.path])
        #expect(status == 0, "generated files are stale; run `swift run cimdb-generate`:\n\(output)")
    }

    @Test func staleGeneratedFilesAreDetectedAndRegenerated() async throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        for path in ["mof", "migrations", "scripts", "sql", "Tests/CIMModel", "Sources/Migrations", "Sources/Inventory/EmbeddedScripts.swift"] {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent(path).deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent(path), to: root.appendingPathComponent(path))
        }
        let card = root.appendingPathComponent("Tests/CIMModel/CIM_Card.swift")
        try (try String(contentsOf: card, encoding: .utf8) + "// edited by hand\n").write(to: card, atomically: true, encoding: .utf8)
        try "// left over\n".write(to: root.appendingPathComponent("Tests/CIMModel/CIM_Gone.swift"), atomically: true, encoding: .utf8)
        let (stale, output) = try await generate(["--check", root.path])
        #expect(stale == 1)
        #expect(output.contains("stale: Tests/CIMModel/CIM_Card.swift"))
        #expect(output.contains("stale: Tests/CIMModel/CIM_Gone.swift"))
        let (regenerated, _) = try await generate([root.path])
        #expect(regenerated == 0)
        #expect(try await generate(["--check", root.path]).0 == 0)
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("Tests/CIMModel/CIM_Gone.swift").path))
    }
}
