import CIM
import Foundation
@testable import MOF

/// The qualifier declarations the hand-written test models use (the DMTF ones, abridged).
let prelude = """
    Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
    Qualifier Indication : boolean = false, Scope(class, indication), Flavor(DisableOverride, ToSubclass);
    Qualifier Abstract : boolean = false, Scope(class, association, indication), Flavor(EnableOverride, Restricted);
    Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
    Qualifier Override : string = null, Scope(property, reference, method), Flavor(EnableOverride, Restricted);
    Qualifier Description : string = null, Scope(any), Flavor(EnableOverride, ToSubclass, Translatable);
    Qualifier MaxLen : uint32 = null, Scope(property, method, parameter);
    Qualifier ValueMap : string[], Scope(property, method, parameter);
    Qualifier Values : string[], Scope(property, method, parameter), Flavor(EnableOverride, ToSubclass, Translatable);
    Qualifier Units : string = null, Scope(property, method, parameter), Flavor(EnableOverride, ToSubclass, Translatable);
    Qualifier In : boolean = true, Scope(parameter), Flavor(DisableOverride, ToSubclass);
    Qualifier Out : boolean = false, Scope(parameter), Flavor(DisableOverride, ToSubclass);
    Qualifier Counter : boolean = false, Scope(property, method, parameter);
    Qualifier Deprecated : string[], Scope(any), Flavor(EnableOverride, Restricted);
    Qualifier Weight : real32 = 1.5, Scope(property);
    Qualifier Tag : char16 = 'x', Scope(property);

    """

/// Compiles `source` as `test.mof` after the prelude (`prelude.mof`), with `files` readable
/// by `#pragma include`. Diagnostics in test.mof have test.mof's own line numbers.
func compile(_ source: String, files: [String: String] = [:], withPrelude: Bool = true) -> Compilation {
    var table = files
    table["test.mof"] = source
    table["prelude.mof"] = prelude
    let frozen = table
    let compiler = Compiler(readFile: { path in frozen[path].map { Array($0.utf8) } })
    return compiler.compile(files: withPrelude ? ["prelude.mof", "test.mof"] : ["test.mof"])
}

/// The errors of a compilation as `line:column: message`, for compact assertions.
func errorLines(_ compilation: Compilation) -> [String] {
    compilation.errors.map { d in
        "\(d.location?.line ?? 0):\(d.location?.column ?? 0): \(d.message)"
    }
}

/// The repository root, found from this file's path.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The full DMTF CIM Schema 2.51.0, extracted once per test run from the committed fixture.
enum DMTFSchema {
    static let topFile: String = {
        let fixture = repositoryRoot.appendingPathComponent("Tests/Fixtures/cim_schema_2.51.0.tar.xz").path
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cimdb-tests-schema-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["xJf", fixture, "-C", directory]
        try! tar.run()
        tar.waitUntilExit()
        precondition(tar.terminationStatus == 0, "cannot extract \(fixture)")
        return directory + "/2.51.0/cim_schema_2.51.0.mof"
    }()

    /// The compiled schema, shared by the tests that only read it.
    static let compilation: Compilation = Compiler().compile(files: [topFile])
}
