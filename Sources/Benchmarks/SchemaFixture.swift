import ArgumentParser
import Foundation
import Subprocess

/// The DMTF CIM Schema for benchmarks: a given top-level MOF file, or the committed fixture
/// (Tests/Fixtures/cim_schema_2.51.0.tar.xz, from the repository root) extracted to a
/// temporary directory.
enum SchemaFixture {
    static let fixture = "Tests/Fixtures/cim_schema_2.51.0.tar.xz"

    /// The top file and a cleanup to call when done.
    static func locate(_ schema: String?) async throws -> (String, () -> Void) {
        if let schema { return (schema, {}) }
        guard FileManager.default.fileExists(atPath: fixture) else {
            throw ValidationError("No --schema given and \(fixture) is not here: run from the repository root or pass --schema FILE.")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cimdb-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tar = try await Subprocess.run(
            .name("tar"), arguments: ["xJf", fixture, "-C", directory], output: .discarded, error: .string(limit: 1 << 16))
        guard tar.terminationStatus.isSuccess else { throw ValidationError("cannot extract \(fixture): \(tar.standardError)") }
        return (directory + "/2.51.0/cim_schema_2.51.0.mof", { try? FileManager.default.removeItem(atPath: directory) })
    }
}
