import CIM
import Foundation
@testable import MOF
import TestSupport
import Testing

/// Class by class, our resolved model against pywbem's (an independent implementation), with
/// `Tests/crosscheck/pywbem_crosscheck.py`. The expected differences — where pywbem departs from
/// DSP0004 — are documented in the script. Needs pywbem: `bash .ci/run` installs it in
/// /opt/cimxml-venv; CIMDB_PYTHON names another interpreter.
@Suite(.serialized) struct PywbemCrossCheckTests {
    static var python: String {
        ProcessInfo.processInfo.environment["CIMDB_PYTHON"] ?? "/opt/cimxml-venv/bin/python"
    }

    func crossCheck(_ compilation: Compilation, top: String, searchPath: String? = nil) async throws -> (Int32, String) {
        #expect(!compilation.hasErrors)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cimdb-crosscheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let dump = directory.appendingPathComponent("ours.json")
        try ModelDump.json(compilation.model, pretty: false).write(to: dump)

        try #require(
            FileManager.default.isExecutableFile(atPath: Self.python),
            "pywbem's Python is missing at \(Self.python): run `bash .ci/run` (or set CIMDB_PYTHON)")
        var arguments = [repositoryRoot.appendingPathComponent("Tests/crosscheck/pywbem_crosscheck.py").path, dump.path, top]
        if let searchPath { arguments += ["--search-path", searchPath] }
        let result = try await runProgram(Self.python, arguments, mergeStreams: true)
        return (result.status, result.standardOutput)
    }

    @Test func fullSchemaMatchesPywbem() async throws {
        let compilation = try await offThePool { DMTFSchema.compilation }
        let (status, output) = try await crossCheck(compilation, top: DMTFSchema.topFile)
        #expect(status == 0, "\(output.suffix(6000))")
        #expect(output.hasSuffix("OK\n"))
        #expect(output.contains("1894"))
    }

    @Test func defaultModelMatchesPywbem() async throws {
        let top = repositoryRoot.appendingPathComponent("mof/cimdb.mof").path
        let compilation = try await offThePool { Compiler().compile(files: [top]) }
        let schemaDirectory = URL(fileURLWithPath: try await offThePool { DMTFSchema.topFile }).deletingLastPathComponent().path
        let (status, output) = try await crossCheck(compilation, top: top, searchPath: schemaDirectory)
        #expect(status == 0, "\(output.suffix(6000))")
        #expect(output.hasSuffix("OK\n"))
    }
}
