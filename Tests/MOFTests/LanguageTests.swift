import CIM
import Foundation
@testable import MOF
import Testing

/// What the MOF language (DSP0004 v2.x, as the DMTF schema uses it) accepts, and what it means.
@Suite struct LanguageTests {
    func model(_ source: String, files: [String: String] = [:]) throws -> Model {
        let compilation = compile(source, files: files)
        #expect(compilation.diagnostics.isEmpty, "\(compilation.diagnostics.map(\.description))")
        return compilation.model
    }

    func defaultValue(_ declaration: String) throws -> Value {
        let m = try model("class T_V { \(declaration) };")
        return try #require(m.class(named: "T_V")?.properties.first?.defaultValue)
    }

    @Test func stringEscapes() throws {
        let value = try defaultValue(#"string S = "\b\t\n\f\r\"\'\\\x41\X263a\x7";"#)
        #expect(value == .string("\u{8}\t\n\u{C}\r\"'\\A\u{263A}\u{7}"))
    }

    @Test func adjacentStringsConcatenate() throws {
        let value = try defaultValue("string S = \"one \"\n   \"two \" \"three\";")
        #expect(value == .string("one two three"))
    }

    @Test func utf8InStrings() throws {
        #expect(try defaultValue(#"string S = "Grüße, 世界";"#) == .string("Grüße, 世界"))
    }

    @Test func char16Literals() throws {
        #expect(try defaultValue("char16 C = 'a';") == .char16(0x61))
        #expect(try defaultValue(#"char16 C = '\n';"#) == .char16(0x0A))
        #expect(try defaultValue(#"char16 C = '\x263A';"#) == .char16(0x263A))
        #expect(try defaultValue("char16 C = 'é';") == .char16(0xE9))
    }

    @Test(arguments: [
        ("uint32 N = 101b;", Value.unsigned(5)),
        ("sint32 N = -101B;", .signed(-5)),
        ("uint32 N = 017;", .unsigned(15)),
        ("uint32 N = 0;", .unsigned(0)),
        ("uint32 N = 1234;", .unsigned(1234)),
        ("sint64 N = +42;", .signed(42)),
        ("uint32 N = 0x1F;", .unsigned(31)),
        ("sint32 N = -0X1f;", .signed(-31)),
        ("uint64 N = 18446744073709551615;", .unsigned(UInt64.max)),
        ("sint64 N = -9223372036854775808;", .signed(Int64.min)),
        ("real64 R = 1.5;", .real(1.5)),
        ("real64 R = -1.5e3;", .real(-1500)),
        ("real32 R = .25;", .real(0.25)),
        ("real64 R = 2E-2;", .real(0.02)),
        ("real64 R = 7;", .real(7)),
        ("boolean B = TRUE;", .boolean(true)),
        ("boolean B = fAlse;", .boolean(false)),
        ("string S = NULL;", .null),
        ("uint8 A[] = {1, 2, 3};", .array([.unsigned(1), .unsigned(2), .unsigned(3)])),
        ("string A[2] = {\"x\", NULL};", .array([.string("x"), .null])),
        ("datetime D = \"20240131123000.000000+060\";", .datetime("20240131123000.000000+060")),
        ("datetime D = \"00000001020304.000000:000\";", .datetime("00000001020304.000000:000")),
    ])
    func numbersAndOtherLiterals(_ declaration: String, _ expected: Value) throws {
        #expect(try defaultValue(declaration) == expected)
    }

    @Test func allSixteenTypes() throws {
        let m = try model(
            """
            [Association] class T_All {
              uint8 A; sint8 B; uint16 C; sint16 D; uint32 E; sint32 F; uint64 G; sint64 H;
              real32 I; real64 J; char16 K; string L; boolean M; datetime N; object O;
              T_All REF P; T_All REF Q;
            };
            """)
        let types = try #require(m.class(named: "T_All")).properties.map(\.type)
        #expect(Set(types) == Set(DataType.allCases))
        #expect(types.count == 17)
    }

    @Test func keywordsAndNamesAreCaseInsensitive() throws {
        let m = try model(
            """
            QUALIFIER Colour : STRING = "red", SCOPE(PROPERTY), FLAVOR(restricted);
            CLASS T_A { [KEY, colour ("blue")] STRING Name; };
            [association] Class T_B { t_a ref One; T_A Ref Two; };
            INSTANCE OF t_a AS $x { NAME = "n"; };
            """)
        let a = try #require(m.class(named: "t_A"))
        #expect(a.property(named: "name")?.isKey == true)
        #expect(a.property(named: "NAME")?.qualifiers.string("Colour") == "blue")
        #expect(m.class(named: "T_B")?.isAssociation == true)
        #expect(m.instances.first?.className == "T_A")
        #expect(m.instances.first?.value(of: "Name") == .string("n"))
    }

    @Test func keywordsAreValidQualifierNames() throws {
        let m = try model(
            """
            Qualifier Reference : string = null, Scope(property);
            Qualifier Schema : string = null, Scope(property, method), Flavor(DisableOverride, ToSubclass, Translatable);
            [Indication (false)]
            class T_A {
              [Reference ("T_B"), Schema ("T")] string Target;
            };
            """)
        let target = try #require(m.class(named: "T_A")?.property(named: "Target"))
        #expect(target.qualifiers.string("Reference") == "T_B")
        #expect(target.qualifiers.string("Schema") == "T")
        #expect(target.qualifiers["Schema"]?.flavor == Flavor(toSubclass: true, overridable: false, translatable: true))
    }

    @Test func commentsAndStrayWhitespace() throws {
        let m = try model("// a line comment\r\nclass /* inline */ T_A\t{\r\n\t/* a\n block */ string Name; // trailing\r\n};\r\n")
        #expect(m.class(named: "T_A")?.properties.map(\.name) == ["Name"])
    }

    @Test func arraysFixedAndVariable() throws {
        let m = try model("class T_A { uint8 Fixed[16]; string Variable[]; string Scalar; };")
        let c = try #require(m.class(named: "T_A"))
        #expect(c.property(named: "Fixed")?.arraySize == 16)
        #expect(c.property(named: "Fixed")?.isArray == true)
        #expect(c.property(named: "Variable")?.isArray == true)
        #expect(c.property(named: "Variable")?.arraySize == nil)
        #expect(c.property(named: "Scalar")?.isArray == false)
    }

    @Test func methodsWithParametersInDeclarationOrder() throws {
        let m = try model(
            """
            [Association] class T_A {
              T_A REF L; T_A REF R;
              [Description ("Starts.")]
              uint32 Start([In, Description ("How.")] uint16 Mode, [In (false), Out] string Messages[], [Out] T_A REF Job, sint8 Zeta);
            };
            """)
        let start = try #require(m.class(named: "T_A")?.method(named: "start"))
        #expect(start.returnType == .uint32)
        #expect(start.parameters.map(\.name) == ["Mode", "Messages", "Job", "Zeta"])
        #expect(start.parameters[1].isArray)
        #expect(start.parameters[1].qualifiers.value("In") == .boolean(false))
        #expect(start.parameters[2].referenceClass == "T_A")
        #expect(start.qualifiers.string("Description") == "Starts.")
        #expect(start.classOrigin == "T_A")
    }

    @Test func qualifierFlavorsAndDefaults() throws {
        let m = try model(
            """
            Qualifier Plain : string = "dflt", Scope(any);
            class T_A {
              [Plain, Units ("bytes") : Restricted DisableOverride] uint64 Size;
            };
            class T_B : T_A { };
            """)
        let a = try #require(m.class(named: "T_A")?.property(named: "Size"))
        #expect(a.qualifiers.string("Plain") == "dflt")  // no value: the declaration's default
        #expect(a.qualifiers["Plain"]?.flavor == .default)  // no Flavor(): EnableOverride, ToSubclass
        #expect(a.qualifiers["Units"]?.flavor == Flavor(toSubclass: false, overridable: false, translatable: true))
        let b = try #require(m.class(named: "T_B")?.property(named: "Size"))
        #expect(b.qualifiers["Plain"]?.propagated == true)
        #expect(b.qualifiers["Units"] == nil)  // Restricted: not inherited
    }

    @Test func inheritanceOverridesAndClassOrigin() throws {
        let m = try model(
            """
            [Abstract] class T_Base {
              [Key, Description ("The name.")] string Name;
              [Description ("Base speed.")] uint64 Speed;
              uint32 Reset();
            };
            class T_Mid : T_Base {
              [Override ("Speed"), Description ("Mid speed.")] uint64 Speed = 10;
            };
            class T_Leaf : T_Mid {
              string Extra;
              [Override ("Reset")] uint32 Reset();
            };
            """)
        let leaf = try #require(m.class(named: "T_Leaf"))
        #expect(leaf.properties.map(\.name) == ["Name", "Speed", "Extra"])
        let speed = try #require(leaf.property(named: "Speed"))
        #expect(speed.classOrigin == "T_Base")
        #expect(speed.propagated)
        #expect(speed.defaultValue == .unsigned(10))
        #expect(speed.qualifiers.string("Description") == "Mid speed.")
        #expect(speed.qualifiers["Override"] == nil)
        let mid = try #require(m.class(named: "T_Mid")?.property(named: "Speed"))
        #expect(!mid.propagated)
        #expect(mid.qualifiers.string("Override") == "Speed")
        #expect(leaf.property(named: "Name")?.isKey == true)
        #expect(leaf.keys.map(\.name) == ["Name"])
        #expect(leaf.method(named: "Reset")?.propagated == false)
        #expect(leaf.method(named: "Reset")?.classOrigin == "T_Base")
        #expect(m.class(named: "T_Base")?.isAbstract == true)
        #expect(leaf.isAbstract == false)
    }

    @Test func referenceOverrideMayNarrowTheClass() throws {
        let m = try model(
            """
            class T_Thing { [Key] string Name; };
            class T_Disk : T_Thing { };
            [Association] class T_Holds { [Key] T_Thing REF Owner; [Key] T_Thing REF Item; };
            [Association] class T_HoldsDisk : T_Holds { [Override ("Item")] T_Disk REF Item; };
            """)
        let item = try #require(m.class(named: "T_HoldsDisk")?.property(named: "Item"))
        #expect(item.referenceClass == "T_Disk")
        #expect(item.isKey)
        #expect(m.class(named: "T_HoldsDisk")?.isAssociation == true)
    }

    @Test func instancesWithAliasesBecomeInstancePaths() throws {
        let m = try model(
            """
            class T_Sys { [Key] string Name; [Key] uint16 Slot; string Caption; };
            [Association] class T_Link { [Key] T_Sys REF Left; [Key] T_Sys REF Right; };
            instance of T_Sys as $a { Name = "rack \\"A\\""; Slot = 3; Caption = "first"; };
            instance of T_Sys as $b { Name = "b"; Slot = 4; };
            instance of T_Link { Left = $a; Right = $b; };
            """)
        #expect(m.instances.count == 3)
        let link = m.instances[2]
        #expect(link.value(of: "Left") == .reference(#"T_Sys.Name="rack \"A\"",Slot=3"#))
        #expect(link.value(of: "Right") == .reference(#"T_Sys.Name="b",Slot=4"#))
        #expect(m.instances[0].alias == "a")
    }

    @Test func includesAreRelativeToTheIncludingFile() throws {
        let compilation = compile(
            """
            #pragma locale ("en_US")
            #pragma include ("sub/a.mof")
            class T_C : T_B { };
            """,
            files: [
                "sub/a.mof": "#pragma include (\"b.mof\")\nclass T_A { [Key] string Name; };\n",
                "sub/b.mof": "#pragma include (\"../shared.mof\")\nclass T_B : T_A { };\n",
                "sub/../shared.mof": "// paths are joined as written, not normalised\n",
            ])
        #expect(compilation.diagnostics.isEmpty, "\(compilation.diagnostics)")
        #expect(compilation.files == ["prelude.mof", "test.mof", "sub/a.mof", "sub/b.mof", "sub/../shared.mof"])
        // Classes may be declared in any order: T_B's superclass comes later in the include order.
        #expect(compilation.model.class(named: "T_C")?.keys.map(\.name) == ["Name"])
    }

    @Test func includePathsAreSearched() throws {
        let files = ["lib/qualifiers.mof": prelude, "main.mof": "#pragma include (\"qualifiers.mof\")\nclass T_A { [Key] string Name; };\n"]
        let compiler = Compiler(includePaths: ["lib"], readFile: { files[$0].map { Array($0.utf8) } })
        let compilation = compiler.compile(files: ["main.mof"])
        #expect(compilation.diagnostics.isEmpty, "\(compilation.diagnostics)")
        #expect(compilation.model.class(named: "T_A")?.property(named: "Name")?.isKey == true)
    }

    @Test func namespacePragmaAppliesToLaterClasses() throws {
        let m = try model(
            """
            class T_A { };
            #pragma namespace ("root/cimdb")
            class T_B { };
            """)
        #expect(m.class(named: "T_A")?.namespace == nil)
        #expect(m.class(named: "T_B")?.namespace == "root/cimdb")
    }

    @Test func identicalQualifierRedeclarationIsAccepted() throws {
        // The DMTF qualifiers.mof is often included by several models compiled together.
        let m = try model(prelude)
        #expect(m.qualifierDeclarations.count == 16)
    }

    @Test func sourceLocationsAreRecorded() throws {
        let m = try model("\n\nclass T_A {\n    string Name;\n};\n")
        let c = try #require(m.class(named: "T_A"))
        #expect(c.location == SourceLocation(file: "test.mof", line: 3, column: 7))
        #expect(c.property(named: "Name")?.location == SourceLocation(file: "test.mof", line: 4, column: 12))
    }
}

@Suite struct ReferenceSyntaxTests {
    @Test func aPropertyMayBeNamedRef() throws {
        let compilation = compile("class T_A { uint32 Ref; }; class T_B { string REF = \"x\"; };")
        #expect(!compilation.hasErrors, "\(compilation.diagnostics)")
        #expect(compilation.model.class(named: "T_A")?.properties.map(\.type) == [.uint32])
        #expect(compilation.model.class(named: "T_B")?.property(named: "ref")?.defaultValue == .string("x"))
    }

    @Test func aReferenceWithoutANameIsReportedAsSuch() {
        let compilation = compile("[Association] class T_A { T_A REF; };")
        #expect(errorLines(compilation).first == "1:34: expected a property or method name, found ';'")
    }
}
