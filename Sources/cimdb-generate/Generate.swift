import Foundation
import MOF
import SchemaGen

/// Regenerates everything that is generated from the repository's sources, or checks that
/// the committed files are current (`--check`, run by the tests and CI):
///
/// - `migrations/0002_create_default_model.sql`: the DDL of the default model, `mof/cimdb.mof`;
/// - `Sources/CIMModel/*.swift`: its Swift model types;
/// - `Sources/Migrations/Migrations.swift`: every `migrations/*.sql`, embedded in the binary.
///
/// Depends on the compiler and the generators only, never on generated code, so a broken
/// generated file can always be regenerated. Run from the repository root (or pass it).
@main
struct Generate {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let check = arguments.contains("--check")
        arguments.removeAll { $0 == "--check" }
        if arguments.contains("--help") || arguments.contains("-h") {
            print(
                "usage: cimdb-generate [--check] [REPOSITORY_ROOT]\n  Regenerates migrations/0002_create_default_model.sql, Sources/CIMModel/ and Sources/Migrations/ from mof/ and migrations/.\n  --check  write nothing; exit 1 when a committed file is stale"
            )
            return
        }
        let root = arguments.first ?? FileManager.default.currentDirectoryPath
        do {
            let generated = try Generator(root: root).generate()
            let stale = generated.stale()
            if check {
                if stale.isEmpty {
                    print("cimdb-generate: \(generated.files.count) generated files are current")
                    return
                }
                for path in stale { FileHandle.standardError.write(Data("stale: \(path)\n".utf8)) }
                FileHandle.standardError.write(
                    Data("cimdb-generate: \(stale.count) generated file(s) are stale; run `swift run cimdb-generate` and commit the result\n".utf8))
                exit(1)
            }
            try generated.write()
            print("cimdb-generate: \(stale.count) of \(generated.files.count) files updated")
        } catch {
            FileHandle.standardError.write(Data("Error: \(String(reflecting: error))\n".utf8))
            exit(1)
        }
    }
}
