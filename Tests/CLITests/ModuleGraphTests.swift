import Foundation
import Testing

/// What the node's executable and the generator link, read off the built binaries: the shared
/// libraries they need (`readelf -d`) and the Swift modules whose code they hold (symbols are
/// mangled with their module's name: `$s5Store…` is defined in module Store). Package.swift's
/// header promises both; these tests fail when a dependency would break the promise.
@Suite("the module graph, as built")
struct ModuleGraphTests {
    /// Modules with database, ingest, server, compiler or export code.
    static let serverSide = [
        "Store", "ModelStore", "Ingest", "Installation", "Migrations", "Server", "Export", "MOF", "SchemaGen", "Benchmarks", "CLI",
        "Hummingbird", "HummingbirdCore", "NIOCore", "NIOPosix",
    ]

    @Test("cimdb-agent links no database, ingest, server, compiler or export code, and no libpq, libxml2, libcurl or FoundationNetworking")
    func agentIsLean() async throws {
        let agent = builtExecutable("cimdb-agent")
        let needed = try await sharedLibraries(agent)
        // FoundationNetworking is URLSession over libcurl (and GnuTLS, OpenSSL): the agent has its own HTTPClient.
        for library in ["libpq", "libxml2", "libcurl", "libFoundationNetworking"] {
            #expect(!needed.contains { $0.hasPrefix(library) }, "cimdb-agent needs \(library): \(needed)")
        }
        let modules = try await definedModules(agent)
        #expect(
            modules.contains("Agent") && modules.contains("AgentProtocol") && modules.contains("HTTPClient"),
            "not the agent? modules: \(modules.sorted())")
        for module in Self.serverSide + ["FoundationNetworking"] { #expect(!modules.contains(module), "cimdb-agent holds code of module \(module)") }
        // Linked statically, FoundationNetworking would need no library and define its symbols
        // with C names too (curl_*, _CFURLSession*); its Swift symbols are covered above.
        let symbols = try await symbolNames(agent)
        for prefix in ["curl_", "_CFURLSession"] {
            #expect(!symbols.contains { $0.hasPrefix(prefix) }, "cimdb-agent holds \(prefix)… symbols (libcurl or URLSession's glue)")
        }
    }

    @Test("cimdb-generate links no database code (a broken database can always be regenerated around)")
    func generatorNeedsNoDatabase() async throws {
        let generator = builtExecutable("cimdb-generate")
        let needed = try await sharedLibraries(generator)
        #expect(!needed.contains { $0.hasPrefix("libpq") }, "cimdb-generate needs libpq: \(needed)")
        let modules = try await definedModules(generator)
        #expect(modules.contains("MOF") && modules.contains("SchemaGen"))
        for module in ["Store", "ModelStore", "Ingest", "Installation", "Server", "Export", "CIMModel"] {
            #expect(!modules.contains(module), "cimdb-generate holds code of module \(module)")
        }
    }

    @Test("the check itself sees libpq, FoundationNetworking and the server's modules where they are: in cimdb")
    func checkSeesWhatIsThere() async throws {
        let cimdb = builtExecutable("cimdb")
        let needed = try await sharedLibraries(cimdb)
        #expect(needed.contains { $0.hasPrefix("libpq") })
        // The server side keeps URLSession (benchmarks, subscriptions' deliveries).
        #expect(needed.contains { $0.hasPrefix("libFoundationNetworking") }, "\(needed)")
        let modules = try await definedModules(cimdb)
        for module in ["Store", "Ingest", "Server", "Export", "MOF", "Agent"] { #expect(modules.contains(module)) }
    }

    func builtExecutable(_ name: String) -> URL { cimdbExecutable.deletingLastPathComponent().appendingPathComponent(name) }

    /// The NEEDED entries of an ELF file's dynamic section.
    func sharedLibraries(_ file: URL) async throws -> [String] {
        let (status, output) = try await runProgram(URL(fileURLWithPath: "/usr/bin/readelf"), ["-d", file.path])
        try #require(status == 0, "readelf -d \(file.path): \(output)")
        return output.split(separator: "\n").compactMap { line in
            guard line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
    }

    /// The names of the symbols the file defines.
    func symbolNames(_ file: URL) async throws -> [Substring] {
        let (status, output) = try await runProgram(URL(fileURLWithPath: "/usr/bin/nm"), ["--defined-only", file.path])
        try #require(status == 0, "nm \(file.path) failed")
        return output.split(separator: "\n").compactMap { $0.split(separator: " ").last }
    }

    /// The Swift modules that define symbols in the file (`$s` LENGTH NAME …).
    func definedModules(_ file: URL) async throws -> Set<String> {
        var modules: Set<String> = []
        for symbol in try await symbolNames(file) {
            guard symbol.hasPrefix("$s") else { continue }
            let rest = symbol.dropFirst(2)
            let digits = rest.prefix { $0.isNumber }
            guard let length = Int(digits), length > 0 else { continue }
            let name = rest.dropFirst(digits.count).prefix(length)
            if name.count == length { modules.insert(String(name)) }
        }
        return modules
    }
}
