// libFuzzer entry for the MOF compiler (lexer, parser, include loader, resolver).
//
// Every input is compiled as the MOF file "fuzz.mof", after "qualifiers.mof" when it uses
// qualifiers (an abridged copy of the DMTF qualifier declarations, so that classes in the
// input get past qualifier checking and reach inheritance and instance resolution). `#pragma include` resolves only
// against the small in-memory table below; the real filesystem is never read.
// Built by Tests/Fuzz/build.sh; run by Tests/Fuzz/run.sh.

import CIM
import Foundation
import MOF

/// The in-memory files `#pragma include` can reach (paths as the include loader forms them:
/// relative to the including file's directory, then under the include path "inc").
let fuzzFiles: [String: [UInt8]] = {
    let text: [String: String] = [
        "qualifiers.mof": prelude,
        "empty.mof": "",
        "a.mof": """
        [Abstract, Description("included base")]
        class Inc_Base { [Key] string Id; uint32 Count = 7; boolean Toggle([In] uint8 Level, [Out] string Msg); };
        """,
        "inc/b.mof": """
        #pragma include ("a.mof")
        class Inc_Child : Inc_Base { [Override("Count")] uint32 Count = 8; };
        instance of Inc_Child as $b { Id = "b"; Count = 1; };
        """,
        "dir/c.mof": """
        #pragma include ("d.mof")
        #pragma namespace ("root/dir")
        """,
        "dir/d.mof": "class Dir_D { [Key] sint64 K; string S = \"d\\x41\"; };\n",
        "self.mof": "#pragma include (\"self.mof\")\n",
        "loop1.mof": "#pragma include (\"loop2.mof\")\n",
        "loop2.mof": "#pragma include (\"loop1.mof\")\n",
        "bad.mof": "class \u{1}{ \"unterminated\n'\\x' 0x 1.e }}}}",
    ]
    var files = text.mapValues { Array($0.utf8) }
    files["binary.mof"] = [0xEF, 0xBB, 0xBF, 0xFF, 0xFE, 0x00, 0x80, 0x22, 0xC3, 0x22, 0x0A]
    return files
}()

/// Abridged `mof/qualifiers.mof` (one declaration a line; the ones the DMTF class files and
/// the resolver care about most), plus a few of other types.
let prelude = """
    Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
    Qualifier Indication : boolean = false, Scope(class, indication), Flavor(DisableOverride, ToSubclass);
    Qualifier Abstract : boolean = false, Scope(class, association, indication), Flavor(EnableOverride, Restricted);
    Qualifier Aggregate : boolean = false, Scope(reference), Flavor(DisableOverride, ToSubclass);
    Qualifier ArrayType : string = "Bag", Scope(property, parameter), Flavor(DisableOverride, ToSubclass);
    Qualifier Deprecated : string[], Scope(any), Flavor(EnableOverride, Restricted);
    Qualifier Description : string = null, Scope(any), Flavor(EnableOverride, ToSubclass, Translatable);
    Qualifier In : boolean = true, Scope(parameter), Flavor(DisableOverride, ToSubclass);
    Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
    Qualifier Max : uint32 = null, Scope(reference);
    Qualifier Out : boolean = false, Scope(parameter), Flavor(DisableOverride, ToSubclass);
    Qualifier Override : string = null, Scope(property, reference, method), Flavor(EnableOverride, Restricted);
    Qualifier Propagated : string = null, Scope(property), Flavor(DisableOverride, ToSubclass);
    Qualifier Required : boolean = false, Scope(property, reference, method, parameter), Flavor(DisableOverride, ToSubclass);
    Qualifier ValueMap : string[], Scope(property, method, parameter);
    Qualifier Values : string[], Scope(property, method, parameter), Flavor(EnableOverride, ToSubclass, Translatable);
    Qualifier Version : string = null, Scope(class, association, indication), Flavor(EnableOverride, Restricted, Translatable);
    Qualifier Weight : real32 = 1.5, Scope(property);
    Qualifier Tag : char16 = 'x', Scope(property);
    Qualifier Since : datetime = "20000101000000.000000+000", Scope(any);
    Qualifier Small : sint8[4] = {-128, 127}, Scope(property, parameter), Flavor(Restricted);
    Qualifier Ratio : real64 = -1.5e3, Scope(any), Flavor(ToSubclass, DisableOverride);

    """

/// Set MOF_FUZZ_DUMP=1 to also render the model as JSON (slower; covers ModelDump).
let dumpJSON = ProcessInfo.processInfo.environment["MOF_FUZZ_DUMP"] == "1"
/// The prelude is compiled before inputs that use qualifiers (that contain a '['): it costs
/// most of the time of a small input, and is of no use to the others. MOF_FUZZ_PRELUDE=0
/// never compiles it, =1 always does (an input can still `#pragma include "qualifiers.mof"`).
let preludeMode = ProcessInfo.processInfo.environment["MOF_FUZZ_PRELUDE"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let table = fuzzFiles
    let compiler = Compiler(
        includePaths: ["inc"],
        readFile: { path in
            path == "fuzz.mof" ? input : table[path]
        })
    let usesPrelude = preludeMode == "1" || (preludeMode != "0" && input.contains(UInt8(ascii: "[")))
    let compilation = compiler.compile(files: usesPrelude ? ["qualifiers.mof", "fuzz.mof"] : ["fuzz.mof"])
    // Render every diagnostic (line/column lookup, source line, caret).
    var length = 0
    for diagnostic in compilation.diagnostics { length &+= diagnostic.description.utf8.count }
    if dumpJSON { length &+= (try? ModelDump.json(compilation.model))?.count ?? 0 }
    if length == -1 { print(length) }
    return 0
}
