import Foundation
import Testing

/// `cimdb mof …` end to end: the built binary, real files, exit codes and output streams.
@Suite struct MOFCommandTests {
    @Test func checksTheShippedModel() async throws {
        let result = try await cimdb(["mof", "check", "mof/cimdb.mof"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("70 qualifier declarations, 34 classes (9 associations, 0 indications)"))
        #expect(result.standardOutput.contains("0 errors"))
        #expect(result.standardError.isEmpty)
    }

    @Test func checksTheFullDMTFSchema() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tar = try await runProgram(
            URL(fileURLWithPath: "/usr/bin/tar"),
            ["xJf", repositoryRoot.appendingPathComponent("Tests/Fixtures/cim_schema_2.51.0.tar.xz").path, "-C", directory.path])
        try #require(tar.status == 0, "\(tar.output)")
        let result = try await cimdb(["mof", "check", "2.51.0/cim_schema_2.51.0.mof"], in: directory)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(
            result.standardOutput
                == "70 qualifier declarations, 1894 classes (720 associations, 30 indications), 0 instances; resolved: 33744 properties (4445 keys), 2911 methods; 1897 files, 0 errors, 0 warnings\n"
        )
    }

    @Test func reportsErrorsWithPlaceAndCaretAndExitsOne() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try """
        #pragma include ("qualifiers.mof")
        class Acme_Card : CIM_Gone {
          [Key] string Tag;
          uint8 Slots = 0x1FF;
        };
        """.write(to: directory.appendingPathComponent("acme.mof"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            at: repositoryRoot.appendingPathComponent("mof/qualifiers.mof"),
            to: directory.appendingPathComponent("qualifiers.mof"))
        let result = try await cimdb(["mof", "check", "acme.mof"], in: directory)
        #expect(result.status == 1)
        #expect(
            result.standardError.contains(
                """
                acme.mof:2:19: error: unknown superclass 'CIM_Gone' of class Acme_Card
                class Acme_Card : CIM_Gone {
                                  ^
                """))
        #expect(
            result.standardError.contains(
                """
                acme.mof:4:17: error: value out of range for the default value of Acme_Card.Slots: 511 is above the uint8 maximum 255
                  uint8 Slots = 0x1FF;
                                ^
                """))
        #expect(result.standardOutput.contains("2 errors"))
    }

    @Test func compileDumpsJSON() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("model.json").path
        let result = try await cimdb(["mof", "compile", "mof/cimdb.mof", "--dump-json", out])
        #expect(result.status == 0, "\(result.standardError)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        let classes = try #require(json["classes"] as? [[String: Any]])
        #expect(classes.count == 34)
        let names = classes.compactMap { $0["name"] as? String }
        #expect(names == names.sorted { $0.lowercased() < $1.lowercased() })
        #expect((json["qualifierDeclarations"] as? [Any])?.count == 70)
    }

    @Test func compileWritesNothingWhenThereAreErrors() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try "class T_A { strng X; };".write(to: directory.appendingPathComponent("bad.mof"), atomically: true, encoding: .utf8)
        let result = try await cimdb(["mof", "compile", "bad.mof", "--dump-json", "out.json"], in: directory)
        #expect(result.status == 1)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("out.json").path))
        #expect(result.standardError.contains("bad.mof:1:13: error: unknown data type 'strng'"))
    }

    @Test func missingFileIsAClearError() async throws {
        let result = try await cimdb(["mof", "check", "no/such/file.mof"])
        #expect(result.status == 1)
        #expect(result.standardError.contains("error: cannot read MOF file 'no/such/file.mof'"))
    }

    @Test func helpTeaches() async throws {
        let root = try await cimdb(["--help"])
        #expect(root.status == 0)
        #expect(root.standardOutput.contains("mof"))
        let check = try await cimdb(["mof", "check", "--help"])
        #expect(check.standardOutput.contains("--include-path"))
        #expect(check.standardOutput.contains("Example"))
        let noFiles = try await cimdb(["mof", "check"])
        #expect(noFiles.status != 0)
    }
}

@Suite struct MOFCompileOutputTests {
    @Test func writesSQLAndSwift() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sql = directory.appendingPathComponent("model.sql").path
        let swift = directory.appendingPathComponent("Swift").path
        let result = try await cimdb(["mof", "compile", "mof/cimdb.mof", "--sql", sql, "--swift", swift])
        #expect(result.status == 0, "\(result.standardError)")
        let ddl = try String(contentsOfFile: sql, encoding: .utf8)
        #expect(ddl.contains("CREATE TABLE cim.cim_ethernetport ("))
        #expect(ddl.contains("INHERITS (cim.cim_networkport)"))
        // The same generator produced the committed default-model migration.
        #expect(
            ddl.replacingOccurrences(of: "from mof/cimdb.mof", with: "")
                == (try String(contentsOf: repositoryRoot.appendingPathComponent("migrations/0002_create_default_model.sql"), encoding: .utf8))
                .replacingOccurrences(of: "from mof/cimdb.mof", with: ""))
        let files = try FileManager.default.contentsOfDirectory(atPath: swift)
        #expect(files.count == 35)
        #expect(files.contains("CIM_EthernetPort.swift") && files.contains("ModelTypes.swift"))
    }
}
