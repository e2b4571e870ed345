import CIM
import Foundation
@testable import MOF
import Testing

/// Class by class, our resolved model against pywbem's (an independent implementation), with
/// `Tests/crosscheck/pywbem_crosscheck.py`. The expected differences — where pywbem departs from
/// DSP0004 — are documented in the script. Needs pywbem: `bash .ci/run` installs it in
/// /opt/cimxml-venv; CIMDB_PYTHON names another interpreter.
@Suite(.serialized) struct PywbemCrossCheckTests {
    static var python: String {
        ProcessInfo.processInfo.environment["CIMDB_PYTHON"] ?? "/opt/cimxml-venv/bin/python"
    }

    func crossCheck(_ compilation: Compilation, top: String, searchPath: String? = nil) throws -> (Int32, String) {
        #expect(!compilation.hasErrors)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cimdb-crosscheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let dump = directory.appendingPathComponent("ours.json")
        try ModelDump.json(compilation.model, pretty: false).write(to: dump)

        try #require(
            FileManager.default.isExecutableFile(atPath: Self.python),
            "pywbem's Python is missing at \(Self.python): run `bash .ci/run` (or set CIMDB_PYTHON)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        var arguments = [repositoryRoot.appendingPathComponent("Tests/crosscheck/pywbem_crosscheck.py").path, dump.path, top]
        if let searchPath { arguments += ["--search-path", searchPath] }
        process.arguments = arguments
        let output = directory.appendingPathComponent("output.txt")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, try String(contentsOf: output, encoding: .utf8))
    }

    @Test func fullSchemaMatchesPywbem() throws {
        let (status, output) = try crossCheck(DMTFSchema.compilation, top: DMTFSchema.topFile)
        #expect(status == 0, "\(output.suffix(6000))")
        #expect(output.hasSuffix("OK\n"))
        #expect(output.contains("1894"))
    }

    @Test func defaultModelMatchesPywbem() throws {
        let top = repositoryRoot.appendingPathComponent("mof/cimdb.mof").path
        let compilation = Compiler().compile(files: [top])
        let schemaDirectory = URL(fileURLWithPath: DMTFSchema.topFile).deletingLastPathComponent().path
        let (status, output) = try crossCheck(compilation, top: top, searchPath: schemaDirectory)
        #expect(status == 0, "\(output.suffix(6000))")
        #expect(output.hasSuffix("OK\n"))
    }
}
