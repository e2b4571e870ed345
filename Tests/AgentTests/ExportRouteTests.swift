import Foundation
import Store
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
    import SQLCore
#endif

@Suite("GET /export", .timeLimit(.minutes(3)))
struct ExportRouteTests {
    /// Validates a CIM-XML document with the independent checker (DTD and pywbem).
    func check(_ document: Data) async throws -> (status: Int32, output: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cimdb-export-\(UUID().uuidString).xml")
        defer { try? FileManager.default.removeItem(at: file) }
        try document.write(to: file)
        return try await run(
            "/opt/cimxml-venv/bin/python",
            [repositoryRoot.appendingPathComponent("Tests/crosscheck/cim-xml/check_cimxml.py").path, file.path])
    }

    func objects(_ document: Data) -> Int {
        String(decoding: document, as: UTF8.self).components(separatedBy: "<VALUE.OBJECTWITHPATH>").count - 1
    }

    @Test("the server streams the inventory as valid CIM-XML to a client with the export token; filters and errors as cimdb export")
    func exportOverHTTP() async throws {
        let installation = try await Installation(servers: 1)
        try await installation.startServer(0, ["--export-token", "s3cret"])
        for (node, disks) in ["n1": ["a": 1, "b": 2], "n2": ["c": 3]] {
            try installation.setDisks(node, disks)
            try await installation.startAgent(node)
        }
        try await eventually("both nodes discovered") {
            try installation.fileSystems("n1").count == 2 && installation.fileSystems("n2").count == 1
                && installation.hostedFileSystems("n1") == 2 && installation.hostedFileSystems("n2") == 1
        }
        let server = installation.serverURLs[0]
        let bearer = [(name: "Authorization", value: "Bearer s3cret")]

        let refused = try await send(server, "GET", "/export", body: [], headers: [])
        #expect(refused.status == 401)
        let wrong = try await send(server, "GET", "/export", body: [], headers: [(name: "Authorization", value: "Bearer nope")])
        #expect(wrong.status == 401)

        let all = try await send(server, "GET", "/export?associations=true", body: [], headers: bearer)
        #expect(all.status == 200)
        let checked = try await check(all.body)
        #expect(checked.status == 0, "\(checked.output)")
        #expect(objects(all.body) == Int(try installation.count("SELECT count(*) FROM cimdb.instance")))

        let one = try await send(server, "GET", "/export?node=n1", body: [], headers: bearer)
        #expect(one.status == 200)
        #expect(try await check(one.body).status == 0)
        // n1's instances that are not associations: its system and two file systems.
        #expect(objects(one.body) == 3)
        #expect(String(decoding: one.body, as: UTF8.self).contains("<VALUE>/a</VALUE>"))
        #expect(!String(decoding: one.body, as: UTF8.self).contains("<VALUE>/c</VALUE>"))

        let fileSystems = try await send(server, "GET", "/export?class=CIM_FileSystem", body: [], headers: bearer)
        #expect(objects(fileSystems.body) == 3)

        let unknownClass = try await send(server, "GET", "/export?class=CIM_Nope", body: [], headers: bearer)
        #expect(unknownClass.status == 404)
        #expect(String(decoding: unknownClass.body, as: UTF8.self).contains("CIM_Nope"))
        let unknownNode = try await send(server, "GET", "/export?node=n9", body: [], headers: bearer)
        #expect(unknownNode.status == 404)
        #expect(String(decoding: unknownNode.body, as: UTF8.self).contains("unknown node n9"))
    }

    @Test("without --export-token the route is off")
    func exportOff() async throws {
        let installation = try await Installation(servers: 1)
        try await installation.startServer(0)
        let answer = try await send(installation.serverURLs[0], "GET", "/export", body: [], headers: [(name: "Authorization", value: "Bearer x")])
        #expect(answer.status == 403)
        #expect(String(decoding: answer.body, as: UTF8.self).contains("--export-token"))
    }
}
