import CIM
@testable import MOF
import Testing

/// Malformed MOF: every error class is reported with its message and its exact line and
/// column in `test.mof` (1-based; columns count characters).
struct MalformedCase: CustomTestStringConvertible, Sendable {
    var name: String
    var source: String
    /// `line:column: message` of the first error.
    var expected: String
    var files: [String: String] = [:]
    var testDescription: String { name }
}

let malformedCases: [MalformedCase] = [
    // Resolution errors.
    MalformedCase(
        name: "unknown superclass",
        source: """
            class T_A : T_Missing {
            };
            """, expected: "1:13: unknown superclass 'T_Missing' of class T_A"),
    MalformedCase(
        name: "unknown referenced class",
        source: """
            [Association]
            class T_Assoc {
              T_Nowhere REF A;
              T_Assoc REF B;
            };
            """, expected: "3:3: unknown class 'T_Nowhere' referenced by T_Assoc.A"),
    MalformedCase(
        name: "duplicate property, differing in case",
        source: """
            class T_A {
              string Name;
              uint32 NAME;
            };
            """, expected: "3:10: duplicate property 'NAME' in class T_A (first declared at line 2)"),
    MalformedCase(
        name: "duplicate class, differing in case",
        source: """
            class T_A { };
            class t_a { };
            """, expected: "2:7: class 't_a' is already declared at test.mof:1:7"),
    MalformedCase(
        name: "duplicate method",
        source: """
            class T_A {
              uint32 Start();
              uint32 start([In] uint32 Mode);
            };
            """, expected: "3:10: duplicate method 'start' in class T_A (first declared at line 2)"),
    MalformedCase(
        name: "duplicate parameter",
        source: """
            class T_A {
              uint32 Start(uint32 Mode, string MODE);
            };
            """, expected: "2:36: duplicate parameter 'MODE' in method T_A.Start"),
    MalformedCase(
        name: "duplicate qualifier",
        source: """
            [Description ("one"), DESCRIPTION ("two")]
            class T_A { };
            """, expected: "1:23: qualifier 'DESCRIPTION' appears twice on class T_A (first at column 2)"),
    MalformedCase(
        name: "undeclared qualifier",
        source: """
            class T_A {
                [Colour ("red")] string Name;
            };
            """, expected: "2:6: qualifier 'Colour' is not declared (missing a Qualifier declaration or an include of qualifiers.mof?)"),
    MalformedCase(
        name: "qualifier outside its scope",
        source: """
            [Key]
            class T_A { };
            """, expected: "1:2: qualifier 'Key' cannot be used on class T_A: its scope is property, reference, not class"),
    MalformedCase(
        name: "qualifier value of the wrong type",
        source: """
            class T_A {
              [MaxLen ("long")] string Name;
            };
            """, expected: #"2:12: value of the wrong type for qualifier MaxLen: expected a value of type uint32, found the string "long""#),
    MalformedCase(
        name: "default value of the wrong type",
        source: """
            class T_A {
              boolean Enabled = "yes";
            };
            """,
        expected: #"2:21: value of the wrong type for the default value of T_A.Enabled: expected a value of type boolean, found the string "yes""#),
    MalformedCase(
        name: "default value out of range",
        source: """
            class T_A {
              uint8 Small = 300;
              sint8 Tiny = -129;
            };
            """, expected: "2:17: value out of range for the default value of T_A.Small: 300 is above the uint8 maximum 255"),
    MalformedCase(
        name: "array value for a scalar",
        source: """
            class T_A {
              [Description { "a", "b" }] string Name;
            };
            """, expected: "2:16: value of the wrong type for qualifier Description: expected a single string value, found an array"),
    MalformedCase(
        name: "override that changes the type",
        source: """
            class T_A { uint16 Speed; };
            class T_B : T_A {
              [Override ("Speed")] string Speed;
            };
            """, expected: "3:24: override of T_B.Speed changes its type from uint16 to string"),
    MalformedCase(
        name: "override that changes arrayness",
        source: """
            class T_A { string Names[]; };
            class T_B : T_A {
              [Override ("Names")] string Names;
            };
            """, expected: "3:31: override of T_B.Names changes it from an array to a scalar"),
    MalformedCase(
        name: "redeclaration without Override",
        source: """
            class T_A { string Name; };
            class T_B : T_A {
              string Name;
            };
            """, expected: #"3:10: property 'Name' of class T_B is already declared in T_A; mark it Override("Name") to override it"#),
    MalformedCase(
        name: "Override of nothing",
        source: """
            class T_A { string Name; };
            class T_B : T_A {
              [Override ("Caption")] string Caption;
            };
            """, expected: #"3:4: T_B.Caption has Override("Caption") but no superclass of T_B declares a property 'Caption'"#),
    MalformedCase(
        name: "overriding a DisableOverride qualifier",
        source: """
            class T_A { [Key] string Name; };
            class T_B : T_A {
              [Override ("Name"), Key (false)] string Name;
            };
            """, expected: "3:23: qualifier 'Key' of property T_B.Name cannot be overridden: it is DisableOverride in T_A (value true, here false)"),
    MalformedCase(
        name: "reference outside an association",
        source: """
            class T_A {
              T_A REF Parent;
            };
            """, expected: "2:11: reference Parent is only allowed in an association, and class T_A is not one"),
    MalformedCase(
        name: "inheritance cycle",
        source: """
            class T_A : T_B { };
            class T_B : T_A { };
            """, expected: "2:13: class T_B inherits from itself (through T_A)"),
    // Instances and aliases.
    MalformedCase(
        name: "alias used before its definition",
        source: """
            class T_A { [Key] string Name; };
            [Association] class T_Link { [Key] T_A REF Left; [Key] T_A REF Right; };
            instance of T_Link { Left = $later; Right = $later; };
            instance of T_A as $later { Name = "x"; };
            """, expected: "3:29: alias $later is used before its instance is declared"),
    MalformedCase(
        name: "undefined alias",
        source: """
            class T_A { [Key] string Name; };
            [Association] class T_Link { [Key] T_A REF Left; [Key] T_A REF Right; };
            instance of T_Link { Left = $nobody; Right = "T_A.Name=\\"y\\""; };
            """, expected: "3:29: alias $nobody is not defined"),
    MalformedCase(
        name: "instance property not in its class",
        source: """
            class T_A { [Key] string Name; };
            instance of T_A {
                Name = "n1";
                Colour = "red";
            };
            """, expected: "4:5: class T_A has no property 'Colour'"),
    MalformedCase(
        name: "duplicate instance property",
        source: """
            class T_A { [Key] string Name; };
            instance of T_A {
                Name = "n1";
                name = "n2";
            };
            """, expected: "4:5: property 'name' is set twice in this instance (first at line 3)"),
    MalformedCase(
        name: "instance of an abstract class",
        source: """
            [Abstract] class T_A { [Key] string Name; };
            instance of T_A { Name = "n1"; };
            """, expected: "2:13: class T_A is abstract and cannot have instances"),
    // Lexical errors.
    MalformedCase(
        name: "bad octal literal",
        source: """
            class T_A {
              uint32 Mask = 0719;
            };
            """, expected: "2:17: invalid octal literal '0719': octal digits are 0 to 7"),
    MalformedCase(
        name: "bad binary literal",
        source: """
            class T_A {
              uint32 Bits = 1021b;
            };
            """, expected: "2:17: invalid binary literal '1021b': binary digits are 0 and 1"),
    MalformedCase(
        name: "bad hexadecimal literal",
        source: """
            class T_A {
              uint32 Bits = 0x;
            };
            """, expected: "2:17: invalid hexadecimal literal '0x': expected hexadecimal digits after '0x'"),
    MalformedCase(
        name: "integer too large",
        source: """
            class T_A {
              uint64 Big = 18446744073709551616;
            };
            """, expected: "2:16: integer literal '18446744073709551616' does not fit in 64 bits"),
    MalformedCase(
        name: "bad escape",
        source: """
            [Description ("tab\\qhere")]
            class T_A { };
            """, expected: "1:19: invalid escape sequence '\\q'"),
    MalformedCase(
        name: "hex escape without digits",
        source: """
            [Description ("x\\xZZ")]
            class T_A { };
            """, expected: "1:17: invalid escape sequence '\\x': expected 1 to 4 hexadecimal digits"),
    MalformedCase(
        name: "unterminated string",
        source: """
            [Description ("never closed)]
            class T_A { };
            """, expected: "1:15: unterminated string literal: a string must end on the line where it starts (write \\n for a line break)"),
    MalformedCase(
        name: "unterminated block comment",
        source: """
            class T_A { };
              /* this comment
                 never ends
            """, expected: "2:3: unterminated block comment: '/*' has no closing '*/'"),
    MalformedCase(
        name: "unterminated pragma",
        source: """
            class T_A { };
            #pragma include ("other.mof"
            class T_B { };
            """, expected: "2:1: unterminated #pragma include: expected ')' after its argument, found 'class'"),
    MalformedCase(
        name: "missing include file",
        source: """
            #pragma include ("Core/CIM_Nothing.mof")
            class T_A { };
            """, expected: "1:18: cannot find include file 'Core/CIM_Nothing.mof' (looked for 'Core/CIM_Nothing.mof')"),
    MalformedCase(
        name: "char16 literal with two characters",
        source: """
            class T_A {
              char16 Letter = 'ab';
            };
            """, expected: "2:19: char16 literal holds more than one character (use a string for text)"),
    MalformedCase(
        name: "empty char16 literal",
        source: """
            class T_A {
              char16 Letter = '';
            };
            """, expected: "2:19: empty char16 literal: a char16 holds exactly one character"),
    // Syntax errors.
    MalformedCase(
        name: "missing semicolon",
        source: """
            class T_A {
              string Name
            };
            """, expected: "3:1: expected ';' after property Name, found '}'"),
    MalformedCase(
        name: "unknown data type",
        source: """
            class T_A {
              strng Name;
            };
            """, expected: "2:3: unknown data type 'strng' (a reference is written 'ClassName REF name')"),
    MalformedCase(
        name: "invalid datetime",
        source: """
            class T_A {
              datetime Since = "2024-01-01";
            };
            """,
        expected:
            #"2:20: invalid datetime value "2024-01-01" for the default value of T_A.Since: expected yyyymmddhhmmss.mmmmmmsutc (a timestamp) or ddddddddhhmmss.mmmmmm:000 (an interval)"#
    ),
    MalformedCase(
        name: "unknown scope in a qualifier declaration",
        source: """
            Qualifier Colour : string = null, Scope(property, widget);
            """,
        expected: "1:51: unknown scope 'widget' (expected class, association, indication, qualifier, property, reference, method, parameter or any)"),
    MalformedCase(
        name: "conflicting flavors",
        source: """
            Qualifier Colour : string = null, Scope(property), Flavor(ToSubclass, Restricted);
            """, expected: "1:71: conflicting flavors: ToSubclass and Restricted"),
    MalformedCase(
        name: "unknown flavor",
        source: """
            class T_A {
              [Description ("d") : ToSubclass Sticky] string Name;
            };
            """, expected: "2:35: unknown flavor 'Sticky' (expected EnableOverride, DisableOverride, ToSubclass, Restricted or Translatable)"),
    MalformedCase(
        name: "unexpected character",
        source: """
            class T_A {
              string Name; @
            };
            """, expected: "2:16: unexpected character '@'"),
]

@Suite struct DiagnosticTests {
    @Test(arguments: malformedCases)
    func reportsTheErrorAtItsPlace(_ testCase: MalformedCase) {
        let compilation = compile(testCase.source, files: testCase.files)
        let errors = errorLines(compilation)
        #expect(errors.first == testCase.expected, "all errors: \(errors)")
        #expect(compilation.errors.first?.location?.file == "test.mof")
    }

    @Test func rendersSourceLineAndCaret() throws {
        let compilation = compile("class T_A {\n\tuint32 Mask = 0719;\n};\n")
        let error = try #require(compilation.errors.first)
        #expect(
            error.description == """
                test.mof:2:16: error: invalid octal literal '0719': octal digits are 0 to 7
                \tuint32 Mask = 0719;
                \t              ^
                """)
    }

    @Test func reportsEveryErrorOfARun() {
        let compilation = compile(
            """
            class T_A : T_Gone {
              uint8 Small = 256;
              [Colour] string Name;
              strng Broken;
              string Fine;
            };
            class T_B { string X = 0b; };
            """)
        let errors = errorLines(compilation)
        #expect(errors.count >= 5, "\(errors)")
        #expect(errors.contains { $0.hasPrefix("1:13: unknown superclass") })
        #expect(errors.contains { $0.hasPrefix("2:17: value out of range") })
        #expect(errors.contains { $0.hasPrefix("3:4: qualifier 'Colour' is not declared") })
        #expect(errors.contains { $0.hasPrefix("4:3: unknown data type 'strng'") })
        #expect(errors.contains { $0.hasPrefix("7:24: invalid binary literal") || $0.hasPrefix("7:24:") })
        // The class still resolves as far as it can: its good property is there.
        #expect(compilation.model.class(named: "T_A")?.property(named: "Fine") != nil)
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let compilation = compile("[Description (\"héllo wörld\"), Colour] class T_A { };\n")
        let error = try #require(compilation.errors.first)
        #expect(error.location?.line == 1)
        #expect(error.location?.column == 31)
    }

    @Test func includeCyclesAreReported() {
        let compilation = compile("#pragma include (\"a.mof\")\n", files: ["a.mof": "#pragma include (\"test.mof\")\n"])
        #expect(errorLines(compilation).first?.contains("includes itself") == true, "\(errorLines(compilation))")
    }
}

/// Inputs the fuzzer found (Fuzz/findings/), kept as regression tests.
@Suite struct FuzzFindingTests {
    @Test func kelvinSignNameIsADuplicateOfK() {
        let compilation = compile("class A { string \u{212A}1; string k1; };", withPrelude: false)
        #expect(errorLines(compilation) == ["1:29: duplicate property 'k1' in class A (first declared at line 1)"])
    }
}

@Suite struct DeepModelTests {
    @Test func deepInheritanceDoesNotExhaustTheStack() throws {
        // A 1,500-level chain, declared leaf first (the fuzzer found 1,200 levels crashed a recursive resolver).
        let depth = 1_500
        var source = ""
        for i in 0..<depth { source += "class C\(i) : C\(i + 1) { uint32 P\(i); };\n" }
        source += "class C\(depth) { [Key] string Name; };\n"
        let compilation = compile(source)
        #expect(!compilation.hasErrors, "\(errorLines(compilation).prefix(3))")
        let leaf = try #require(compilation.model.class(named: "C0"))
        #expect(leaf.properties.count == depth + 1)
        #expect(leaf.keys.map(\.name) == ["Name"])
        #expect(compilation.model.classes.first?.name == "C\(depth)")
    }

    @Test func longCycleIsReportedOnce() {
        var source = ""
        for i in 0..<300 { source += "class C\(i) : C\((i + 1) % 300) { };\n" }
        let errors = errorLines(compile(source))
        #expect(errors == ["300:14: class C299 inherits from itself (through C0)"])
    }
}

@Suite struct SourceFileTests {
    @Test func columnsCountCharactersAcrossBlocks() {
        // Multi-byte characters before and after 256-byte block boundaries.
        let line = String(repeating: "é", count: 300) + "X" + String(repeating: "a", count: 300) + "Y"
        let file = SourceFile(path: "t.mof", text: "first\n" + line + "\nlast")
        let bytes = file.bytes
        let x = bytes.firstIndex(of: UInt8(ascii: "X"))!
        let y = bytes.firstIndex(of: UInt8(ascii: "Y"))!
        #expect(file.lineAndColumn(of: x) == (2, 301))
        #expect(file.lineAndColumn(of: y) == (2, 602))
        #expect(file.lineAndColumn(of: bytes.count) == (3, 5))
        #expect(file.lineAndColumn(of: 0) == (1, 1))
    }

    @Test func oneHugeLineStaysLinear() {
        // 40,000 classes on one line: every location used to cost its column (quadratic).
        let source = (0..<40_000).map { "class C\($0) : B { };" }.joined(separator: " ")
        let compilation = compile("class B { };" + source)
        #expect(!compilation.hasErrors)
        #expect(compilation.model.classes.count == 40_001)
        #expect(compilation.model.class(named: "C39999")?.location?.column == 12 + source.utf8.count - 21 + 6 + 1)
    }
}
