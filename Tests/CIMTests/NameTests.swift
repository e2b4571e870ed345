@testable import CIM
import Testing

@Suite struct NameTests {
    @Test func foldsASCIIAndUnicode() {
        #expect(foldedName("CIM_EthernetPort") == "cim_ethernetport")
        #expect(foldedName("already_lower") == "already_lower")
        #expect(foldedName("ÄRGER") == "ärger")
    }

    @Test func comparesCaseInsensitively() {
        #expect(sameName("DeviceID", "deviceid"))
        #expect(sameName("", ""))
        #expect(!sameName("Key", "KeyX"))
        #expect(!sameName("Name", "Nome"))
        #expect(sameName("Größe", "GRÖSSE") == ("größe" == "grösse"))
        #expect(sameName("Ärger", "ärger"))
    }

    @Test func nameKeysHashCaseInsensitively() {
        var table: [NameKey: Int] = [:]
        table[NameKey("CIM_ManagedElement_WithALongName")] = 1
        #expect(table[NameKey("cim_managedelement_withalongname")] == 1)
        #expect(table[NameKey("CIM_MANAGEDELEMENT_WITHALONGNAME")] == 1)
        #expect(table[NameKey("CIM_ManagedElement")] == nil)
        table[NameKey("Übung")] = 2
        #expect(table[NameKey("übung")] == 2)
    }

    @Test func ordersCaseInsensitively() {
        let sorted = ["b", "A", "a", "C"].sorted(by: namePrecedes)
        #expect(sorted == ["A", "a", "b", "C"])
    }
}

@Suite struct InstancePathTests {
    @Test func formatsTheUntypedWBEMURIForm() {
        let path = InstancePath(
            className: "CIM_EthernetPort",
            keys: [
                ("CreationClassName", .string("CIM_EthernetPort")),
                ("DeviceID", .string("eth\"0\"\\x\ny")),
                ("Index", .unsigned(3)),
                ("Offset", .signed(-2)),
                ("Enabled", .boolean(true)),
                ("Letter", .char16(0x61)),
                ("Owner", .reference(#"CIM_System.Name="n1""#)),
            ])
        #expect(
            path.description
                == #"CIM_EthernetPort.CreationClassName="CIM_EthernetPort",DeviceID="eth\"0\"\\x\ny",Index=3,Offset=-2,Enabled=true,Letter='a',Owner="CIM_System.Name=\"n1\"""#
        )
        #expect(path.value(of: "deviceid") == .string("eth\"0\"\\x\ny"))
    }
}

@Suite struct TypeTests {
    @Test func dataTypeKeywordsAndRanges() {
        #expect(DataType(mofKeyword: "UINT16") == .uint16)
        #expect(DataType(mofKeyword: "reference") == nil)
        #expect(DataType.allCases.count == 16)
        #expect(DataType.sint8.integerRange! == (-128, 127))
        #expect(DataType.uint64.integerRange!.maximum == UInt64.max)
        #expect(DataType.string.integerRange == nil)
    }

    @Test func scopesPermitTheirElements() {
        let scope: Scope = [.property, .reference]
        #expect(scope.permits(.reference))
        #expect(!scope.permits(.class))
        #expect(Scope.any.permits(.method))
        #expect(scope.keywordNames == ["property", "reference"])
    }

    @Test func flavorSpecificationsFallBack() {
        let declared = FlavorSpecification(toSubclass: false).applied(to: .default)
        #expect(declared == Flavor(toSubclass: false, overridable: true, translatable: false))
        let use = FlavorSpecification(overridable: false).applied(to: declared)
        #expect(use == Flavor(toSubclass: false, overridable: false, translatable: false))
        #expect(Flavor.default.keywords == ["EnableOverride", "ToSubclass"])
    }

    @Test func qualifierListsLookUpCaseInsensitively() {
        var list = QualifierList()
        list.append(Qualifier(name: "Key", value: .boolean(true), flavor: Flavor(overridable: false)))
        list.append(Qualifier(name: "Override", value: .string("Name"), flavor: Flavor(toSubclass: false)))
        list.append(Qualifier(name: "ValueMap", value: .array([.string("1"), .string("2")])))
        #expect(list.isTrue("KEY"))
        #expect(list.strings("valuemap") == ["1", "2"])
        let inherited = list.inheritable
        #expect(inherited.map(\.name) == ["Key", "ValueMap"])
        #expect(inherited.allSatisfy { $0.propagated })
    }
}

/// Found by the fuzzer: names that are equal through Unicode case folding must hash alike,
/// or dictionaries keyed by name trap. Names are compared as lower-cased UTF-8 bytes, without
/// Unicode normalization (as PostgreSQL compares identifiers).
@Suite struct UnicodeNameKeyTests {
    @Test(arguments: [
        ("\u{212A}1", "k1"),  // KELVIN SIGN folds to ASCII k
        ("\u{0130}d", "i\u{0307}D"),  // capital I with dot above folds to i + U+0307
        ("abcdefgh\u{212A}", "ABCDEFGHk"),  // across the 8-byte hashing word
        ("ÉCOLE", "école"),
    ])
    func equalNamesHashAlike(_ a: String, _ b: String) {
        #expect(sameName(a, b))
        #expect(NameKey(a) == NameKey(b))
        #expect(NameKey(a).hashValue == NameKey(b).hashValue)
        var table: [NameKey: Int] = [NameKey(a): 1]
        table[NameKey(b)] = 2
        #expect(table.count == 1)
    }

    @Test(arguments: [
        ("Caf\u{00E9}", "CAFE\u{0301}"),  // canonically equivalent, but different bytes
        ("\u{037E}x", ";X"),  // GREEK QUESTION MARK is canonically ';'
    ])
    func unnormalizedNamesDiffer(_ a: String, _ b: String) {
        #expect(!sameName(a, b))
        var table: [NameKey: Int] = [NameKey(a): 1]
        table[NameKey(b)] = 2
        #expect(table.count == 2)
    }
}

@Suite struct InstancePathParsingTests {
    @Test func roundTrips() throws {
        let path = InstancePath(
            className: "CIM_SystemDevice",
            keys: [
                ("GroupComponent", .string(#"CIM_ComputerSystem.CreationClassName="CIM_ComputerSystem",Name="n\"1\"""#)),
                ("PartComponent", .string("CIM_Processor.DeviceID=\"cpu0\\\\x\nnext\"")),
                ("Count", .unsigned(12)), ("Offset", .signed(-4)), ("On", .boolean(false)), ("C", .char16(0x27)), ("R", .real(1.5)),
            ])
        let parsed = try InstancePath.parse(path.description)
        #expect(parsed == path)
        let nested = try InstancePath.parse(try #require(parsed.value(of: "groupcomponent")?.stringValue))
        #expect(nested.value(of: "Name") == .string("n\"1\""))
    }

    @Test func acceptsCaseInsensitiveBooleansAndNoKeys() throws {
        #expect(try InstancePath.parse("A.b=TRUE").keys.first?.value == .boolean(true))
        #expect(try InstancePath.parse("CIM_Singleton").keys.isEmpty)
    }

    @Test(arguments: [
        ("", "column 1: expected a class name, found the end"),
        ("1A.x=1", "column 1: expected a class name, found '1'"),
        ("A x=1", "column 2: expected '.' after the class name A, found ' '"),
        ("A.x", "column 4: expected '=' after x, found the end"),
        ("A.x=\"open", "column 5: unterminated quoted value: no closing \""),
        ("A.x=1;y=2", "column 5: the value of x is not a number, boolean, or quoted string: 1;y=2"),
        ("A.x=1,X=2", "column 7: key X appears twice"),
        ("A.x='ab'", "column 5: a char16 value holds exactly one character"),
        ("A.x=", "column 5: expected a value for x, found the end"),
    ])
    func reportsWhereItGoesWrong(_ text: String, _ message: String) {
        #expect(throws: InstancePathError.self) { try InstancePath.parse(text) }
        do {
            _ = try InstancePath.parse(text)
        } catch {
            #expect(error.description == message)
        }
    }
}
