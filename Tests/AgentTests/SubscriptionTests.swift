import Foundation
import Store
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
    import SQLCore
#endif

@Suite("subscriptions", .timeLimit(.minutes(3)))
struct SubscriptionTests {
    func documents(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".xml") }.sorted()
            .compactMap { try? String(contentsOfFile: directory + "/" + $0, encoding: .utf8) }
    }

    func indications(_ documents: [String], _ kind: String, containing text: String) -> Int {
        documents.map { document in
            document.components(separatedBy: "<INSTANCE CLASSNAME=\"\(kind)\"").dropFirst().filter { $0.contains(text) }.count
        }.reduce(0, +)
    }

    @Test("a subscriber receives CIM-XML indications of matching changes; while it is down nothing is lost and ingest goes on")
    func deliveriesSurviveAnOutage() async throws {
        let installation = try await Installation(servers: 1)
        try await installation.startServer(0, ["--export-token", "s3cret"])
        let port = try freePort()
        let received = installation.directory + "/received"
        let subscriberURL = "http://127.0.0.1:\(port)/listener"

        // Registered over HTTP (the export token), for file systems only; the subscriber is not up yet.
        let bearer = [(name: "Authorization", value: "Bearer s3cret")]
        let body = Array(#"{"url": "\#(subscriberURL)", "class": "CIM_FileSystem"}"#.utf8)
        let registered = try await send(installation.serverURLs[0], "POST", "/v1/subscriptions", body: body, headers: bearer)
        #expect(registered.status == 200, "\(String(decoding: registered.body, as: UTF8.self))")
        let unknown = try await send(
            installation.serverURLs[0], "POST", "/v1/subscriptions",
            body: Array(#"{"url": "http://x/", "class": "CIM_Nope"}"#.utf8), headers: bearer)
        #expect(unknown.status == 400)

        try installation.setDisks("n1", ["a": 1, "b": 2])
        try await installation.startAgent("n1")
        try await eventually("n1 discovered while the subscriber is down") { try installation.fileSystems("n1") == ["/a": 1, "/b": 2] }
        try installation.removeDisk("n1", "b")
        try await eventually("n1's /b removed: ingest goes on") { try installation.fileSystems("n1").count == 1 }
        try await eventually("the failed deliveries are recorded") {
            try installation.count("SELECT attempts FROM cimdb.subscription") >= 1
        }
        #expect(try installation.query("SELECT last_error FROM cimdb.subscription").first?["last_error"]?.isEmpty == false)

        // The subscriber comes up: everything since the subscription arrives, in order.
        let subscriber = try Spawned(
            [fixtures.appendingPathComponent("subscriber.py").path, String(port), received],
            executable: "/usr/bin/python3", log: installation.directory + "/subscriber.log")
        defer { subscriber.stop(signal: SIGKILL) }
        try await eventually("indications for /a created, /b created and deleted", timeout: .seconds(90)) {
            let docs = documents(received)
            return indications(docs, "CIM_InstCreation", containing: "/b") == 1 && indications(docs, "CIM_InstDeletion", containing: "/b") == 1
                && indications(docs, "CIM_InstCreation", containing: "/a") == 1
        }
        let docs = documents(received)
        #expect(docs.allSatisfy { !$0.contains("CIM_ComputerSystem.") || $0.contains("CIM_FileSystem") }, "only file systems (the class filter)")
        #expect(indications(docs, "CIM_InstCreation", containing: "CIM_HostedFileSystem") == 0)
        // Each document is valid CIM-XML: DTD, and pywbem parses the indications with their embedded instances.
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: received)) ?? []).filter({ $0.hasSuffix(".xml") }) {
            let checked = try await run(
                "/opt/cimxml-venv/bin/python",
                [repositoryRoot.appendingPathComponent("Tests/crosscheck/cim-xml/check_cimxml.py").path, received + "/" + name])
            #expect(checked.status == 0, "\(name): \(checked.output)")
        }
        // The creation carries the instance as it is now (embedded); the deletion its path.
        #expect(docs.joined().contains("EmbeddedObject=\"instance\""))
        #expect(docs.joined().contains("&lt;INSTANCE CLASSNAME=&quot;CIM_FileSystem&quot;&gt;"))
        try await eventually("the delivery state caught up") {
            try installation.count("SELECT attempts FROM cimdb.subscription") == 0
                && installation.count("SELECT events_delivered FROM cimdb.subscription") == 3
        }

        // Removed over HTTP: no more deliveries.
        let id = try installation.count("SELECT id FROM cimdb.subscription")
        let removed = try await send(installation.serverURLs[0], "DELETE", "/v1/subscriptions/\(id)", body: [], headers: bearer)
        #expect(removed.status == 200)
        #expect(try installation.count("SELECT count(*) FROM cimdb.subscription") == 0)
    }

    @Test("cimdb subscription add, list and remove")
    func command() async throws {
        let installation = try await Installation(servers: 1)
        let add = try await cimdb([
            "subscription", "add", "http://127.0.0.1:1/x", "--class", "cim_processor", "--database-url", installation.conninfo,
        ])
        #expect(add.status == 0, "\(add.output)")
        #expect(add.output.contains("changes of CIM_Processor"))
        let bad = try await cimdb(["subscription", "add", "ftp://x", "--database-url", installation.conninfo])
        #expect(bad.status == 1)
        #expect(bad.output.contains("not an http(s) URL"))
        let list = try await cimdb(["subscription", "list", "--database-url", installation.conninfo])
        #expect(list.output.contains("http://127.0.0.1:1/x class CIM_Processor node *"))
        let id = try installation.count("SELECT id FROM cimdb.subscription")
        #expect(try await cimdb(["subscription", "remove", String(id), "--database-url", installation.conninfo]).status == 0)
        #expect(try await cimdb(["subscription", "remove", String(id), "--database-url", installation.conninfo]).status == 1)
    }
}
