import Foundation
import Testing

/// `cimdb export --classes`: class declarations with their qualifiers, from the model source
/// `cimdb migrate` stores.
@Suite struct ExportClassesTests {
    @Test func classDeclarationsCarryEveryQualifierAndPassTheChecker() async throws {
        let fresh = try FreshHome()
        defer { fresh.remove() }
        #expect(try await cimdb(["migrate"], environment: fresh.env).status == 0)
        #expect(try await cimdb(["instance", "add", "CIM_ComputerSystem", "Name=n1"], environment: fresh.env).status == 0)
        let file = fresh.url.appendingPathComponent("classes.xml")
        let export = try await cimdb(["export", "--classes", "--class", "CIM_ComputerSystem", "-o", file.path], environment: fresh.env)
        #expect(export.status == 0, "\(export.standardError)")
        // CIM_ComputerSystem and its six superclasses, then the instance.
        #expect(export.standardError.contains("exported 7 class declarations and 1 instances"))
        let document = try String(contentsOf: file, encoding: .utf8)
        #expect(document.contains(#"<CLASS NAME="CIM_ComputerSystem" SUPERCLASS="CIM_System">"#))
        #expect(document.contains(#"<CLASS NAME="CIM_ManagedElement">"#))
        #expect(document.contains(#"<QUALIFIER NAME="Key" TYPE="boolean" PROPAGATED="true" OVERRIDABLE="false">"#))
        #expect(document.contains(#"<QUALIFIER NAME="Abstract" TYPE="boolean" TOSUBCLASS="false">"#))
        #expect(document.contains(#"<PROPERTY NAME="Name" TYPE="string" CLASSORIGIN="CIM_ManagedSystemElement" PROPAGATED="true">"#))
        #expect(document.contains(#"<METHOD NAME="RequestStateChange" TYPE="uint32""#))
        #expect(document.contains(#"<QUALIFIER NAME="ValueMap" TYPE="string""#))
        let check = try await checkCIMXML(file)
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("8 passed, 0 failed"))
    }
}

/// Runs the independent CIM-XML checker (DTD, then pywbem) on a document.
func checkCIMXML(_ file: URL) async throws -> (status: Int32, output: String) {
    try await runProgram(
        URL(fileURLWithPath: "/opt/cimxml-venv/bin/python"),
        [repositoryRoot.appendingPathComponent("Tests/crosscheck/cim-xml/check_cimxml.py").path, file.path])
}
