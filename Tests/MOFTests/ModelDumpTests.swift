import CIM
import Foundation
@testable import MOF
import Testing

/// `cimdb mof compile --dump-json`: the documented fields, sorted case-insensitively.
@Suite struct ModelDumpTests {
    func dump(_ source: String) throws -> [String: Any] {
        let compilation = compile(source)
        #expect(!compilation.hasErrors, "\(compilation.diagnostics)")
        let data = try ModelDump.json(compilation.model)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    let source = """
        class b_Second { [Key, MaxLen (32)] string Name; };
        [Description ("First.")]
        class A_First : b_Second {
          [Override ("Name"), ValueMap { "1", "2" }] string Name = "x";
          uint16 Codes[] = { 1, 2 };
          real64 Ratio = 0.5;
          char16 Letter = 'q';
          [Description ("Go.")] sint32 Go([In] uint8 Zed, [In] boolean Alpha);
        };
        [Association] class C_Link { [Key] b_Second REF L; [Key] b_Second REF R; };
        instance of b_Second as $one { Name = "n1"; };
        instance of C_Link { L = $one; R = $one; };
        """

    @Test func hasTheDocumentedShape() throws {
        let json = try dump(source)
        #expect(Set(json.keys) == ["qualifierDeclarations", "classes", "instances"])

        let declarations = try #require(json["qualifierDeclarations"] as? [[String: Any]])
        let names = declarations.compactMap { $0["name"] as? String }
        #expect(names == names.sorted { $0.lowercased() < $1.lowercased() })
        let key = try #require(declarations.first { $0["name"] as? String == "Key" })
        #expect(key["type"] as? String == "boolean")
        #expect(key["isArray"] as? Bool == false)
        #expect(key["defaultValue"] as? Bool == false)
        #expect(key["scopes"] as? [String] == ["property", "reference"])
        #expect(key["flavors"] as? [String] == ["DisableOverride", "ToSubclass"])
        let valueMap = try #require(declarations.first { $0["name"] as? String == "ValueMap" })
        #expect(valueMap["isArray"] as? Bool == true)
        #expect(valueMap["defaultValue"] is NSNull)

        let classes = try #require(json["classes"] as? [[String: Any]])
        #expect(classes.compactMap { $0["name"] as? String } == ["A_First", "b_Second", "C_Link"])
        let first = classes[0]
        #expect(first["superclass"] as? String == "b_Second")
        #expect((first["qualifiers"] as? [String: Any])?["Description"] as? String == "First.")
        let properties = try #require(first["properties"] as? [[String: Any]])
        #expect(properties.compactMap { $0["name"] as? String } == ["Codes", "Letter", "Name", "Ratio"])
        let name = properties[2]
        #expect(name["type"] as? String == "string")
        #expect(name["classOrigin"] as? String == "b_Second")
        #expect(name["propagated"] as? Bool == false)
        #expect(name["defaultValue"] as? String == "x")
        let nameQualifiers = try #require(name["qualifiers"] as? [String: Any])
        #expect(nameQualifiers["Key"] as? Bool == true)
        #expect(nameQualifiers["MaxLen"] as? Int == 32)
        #expect(nameQualifiers["ValueMap"] as? [String] == ["1", "2"])
        #expect(properties[0]["isArray"] as? Bool == true)
        #expect(properties[0]["defaultValue"] as? [Int] == [1, 2])
        #expect(properties[1]["defaultValue"] as? String == "q")
        #expect(properties[3]["defaultValue"] as? Double == 0.5)
        #expect(properties[0]["arraySize"] is NSNull)
        #expect(properties[0]["referenceClass"] is NSNull)

        let methods = try #require(first["methods"] as? [[String: Any]])
        let go = try #require(methods.first)
        #expect(go["returnType"] as? String == "sint32")
        #expect(go["classOrigin"] as? String == "A_First")
        #expect(go["propagated"] as? Bool == false)
        let parameters = try #require(go["parameters"] as? [[String: Any]])
        #expect(parameters.compactMap { $0["name"] as? String } == ["Zed", "Alpha"])  // declaration order
        #expect(parameters[0]["type"] as? String == "uint8")

        let link = try #require((classes[2]["properties"] as? [[String: Any]])?.first)
        #expect(link["type"] as? String == "reference")
        #expect(link["referenceClass"] as? String == "b_Second")

        let instances = try #require(json["instances"] as? [[String: Any]])
        #expect(instances.count == 2)
        #expect(instances[0]["path"] as? String == #"b_Second.Name="n1""#)
        #expect((instances[1]["properties"] as? [String: Any])?["L"] as? String == #"b_Second.Name="n1""#)
    }

    @Test func isDeterministic() throws {
        let a = try ModelDump.json(compile(source).model)
        let b = try ModelDump.json(compile(source).model)
        #expect(a == b)
    }
}
