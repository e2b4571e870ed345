// swift-tools-version:6.2
//
// cimdb — a relational CMDB for heterogeneous clusters.
//
// Modules by concern, dependencies one way, cut along the I/O line (docs/architecture.md draws
// the graph and the request paths). Pure modules compute; I/O modules talk to PostgreSQL,
// sockets, files and processes. The graph, pure first (A ← B: B depends on A):
//
//   pure   CIM ← MOF                                   meta-model; the MOF compiler (reads the files it is given)
//          SQLCore                                     SQL statements, bind values, result rows, PostgreSQL errors
//          CIM + SQLCore ← ORM ← SchemaGen             SQL names, column types, value coding; DDL and Swift emitters
//          ORM ← Inventory ← AgentProtocol, Fleet      wire formats and configuration; the agent–server protocol; a synthetic fleet
//          Inventory ← Tasks                           node sets, the access file and its difference, output folding
//   I/O    SQLCore + CLibPQ ← Store ← Migrations       libpq (connections, pool, COPY, LISTEN), the embedded cluster; the product's SQL
//          ORM + Store + MOF ← ModelStore              the installed model and its instances in the database
//          Inventory + ModelStore ← Ingest             discovery and update processing (load → decide → write), configuration store
//          Migrations + ModelStore ← Installation      migrate, reports, reader roles
//          ModelStore + CLibXML2 ← Export              CIM-XML (DSP0201)
//          AgentProtocol + Tasks + Store ← TaskStore   the task facility's database side: access, submit, dispatch (LISTEN), reports
//          Ingest + Export + Installation + CommandSupport + Hummingbird ← Server   middleware, routes, ingest queue
//          HTTPClient + CLibSSL                        http:// and https:// over POSIX sockets, no Foundation (the agent's client)
//          AgentProtocol + HTTPClient + CSQLite + Subprocess ← Agent
//   pure   Proxy                                       the remote-services protocol (batches, answers, back channel) and QoS
//          Proxy + HTTPClient ← ProxyClient            an integrator's client of the proxy's HTTP API (a library)
//          Proxy + Store + HTTPClient + CLibXML2 + Hummingbird ← ProxyService   the proxy's site side: integrator calls, forwarder
//          Proxy + Store + Hummingbird ← Upstream      `cimdb upstream`: the receiving service and its schema
//          ProxyService + Export ← ProxyFeed           the inventory as an integrator: change events upstream, as events or CIM-XML
//          SQLCore ← CommandSupport ← AgentCLI ← cimdb-agent   errors, version, signals, logging; the agent command; the node's executable
//          all ← Benchmarks, CLI ← cimdb               `cimdb bench`; the command tree; the executable
//          MOF + SchemaGen ← cimdb-generate            regenerates what is generated (no database, no generated code)
//
// cimdb-agent links no database, ingest, server, compiler or export code and no libcurl
// (FoundationNetworking), and cimdb-generate no database code: Tests/CLITests/ModuleGraphTests.swift fails when they would.
import PackageDescription

let strict: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "cimdb",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cimdb", targets: ["cimdb"]),
        .executable(name: "cimdb-generate", targets: ["cimdb-generate"]),
        .executable(name: "cimdb-agent", targets: ["cimdb-agent"]),
        .library(name: "MOF", targets: ["MOF"]),
        .library(name: "CIM", targets: ["CIM"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "ProxyClient", targets: ["ProxyClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Under Hummingbird already; named for the benchmarks' simulated agents (Benchmarks/LoopbackHTTP.swift).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        // MARK: Pure

        // The CIM meta-model: data types, values, qualifiers, classes, instance paths.
        .target(name: "CIM", swiftSettings: strict),
        // The MOF compiler: lexer, parser, resolver, diagnostics, JSON dump.
        .target(name: "MOF", dependencies: ["CIM"], swiftSettings: strict),
        // What is said to PostgreSQL and what it answers, as values: statements whose interpolated
        // values are bind parameters, rows, errors.
        .target(name: "SQLCore", swiftSettings: strict),
        // The model runtime: how CIM names, types and values map to PostgreSQL.
        .target(name: "ORM", dependencies: ["CIM", "SQLCore"], swiftSettings: strict),
        // Schema generation: PostgreSQL DDL and Swift types from a resolved model; evolution.
        .target(name: "SchemaGen", dependencies: ["CIM", "ORM"], swiftSettings: strict),
        // The inventory's values: configuration (and its YAML file), the script wire formats, envelopes.
        .target(
            name: "Inventory",
            dependencies: ["CIM", "ORM", .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // What agents and servers agree on: signed requests, assignments, result framing.
        .target(
            name: "AgentProtocol",
            dependencies: ["Inventory", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // A synthetic fleet: what the default scripts would report on N nodes (benchmarks, tests).
        .target(name: "Fleet", dependencies: ["CIM", "Inventory"], swiftSettings: strict),
        .target(name: "Tasks", dependencies: ["Inventory", .product(name: "Yams", package: "Yams")], swiftSettings: strict),

        // MARK: I/O

        // libpq, the PostgreSQL C client library.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // The store: connections, pool, COPY, LISTEN/NOTIFY, migrations, the embedded cluster.
        .target(
            name: "Store",
            dependencies: ["SQLCore", "CLibPQ", .product(name: "Subprocess", package: "swift-subprocess")],
            swiftSettings: strict
        ),
        // The product's own SQL (migrations/, sql/reports.sql) and the default model's MOF, embedded. Generated.
        .target(name: "Migrations", dependencies: ["Store"], swiftSettings: strict),
        // The installed model in the database: its catalog, its MOF source, instances by hand, bulk loading.
        .target(name: "ModelStore", dependencies: ["CIM", "MOF", "ORM", "SQLCore", "Store", "Migrations"], swiftSettings: strict),
        // Ingest: discovery and update results applied to the database; the configuration stored.
        .target(name: "Ingest", dependencies: ["CIM", "ORM", "SQLCore", "Store", "ModelStore", "Inventory"], swiftSettings: strict),
        // Installing and upgrading the schema: migrations, the default model's source, reports, reader roles.
        .target(name: "Installation", dependencies: ["SQLCore", "Store", "Migrations", "ModelStore"], swiftSettings: strict),
        .target(
            name: "TaskStore",
            dependencies: ["AgentProtocol", "SQLCore", "Store", "Tasks", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The remote-services proxy's protocol and QoS (SPEC §8): pure, shared by both ends.
        .target(name: "Proxy", swiftSettings: strict),
        // The proxy's site side: the queue's calls (the rules are SQL functions) and the forwarder.
        .target(
            name: "ProxyService",
            dependencies: [
                "Proxy", "SQLCore", "Store", "HTTPClient", "CLibXML2", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The inventory as an integrator: its change events forwarded upstream as events or CIM-XML.
        .target(
            name: "ProxyFeed",
            dependencies: [
                "CIM", "Export", "ModelStore", "ORM", "Proxy", "ProxyService", "SQLCore", "Store",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // An integrator's client of the proxy's HTTP API: forward calls and the back channel's long poll.
        .target(name: "ProxyClient", dependencies: ["Proxy", "HTTPClient"], swiftSettings: strict),
        // `cimdb upstream`: the service proxies forward to (Hummingbird), its own schema.
        .target(
            name: "Upstream",
            dependencies: [
                "Proxy", "SQLCore", "Store", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // libxml2, for writing CIM-XML.
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        // CIM-XML export (DSP0201): the inventory as VALUE.OBJECTWITHPATH documents, streamed.
        .target(name: "Export", dependencies: ["CIM", "MOF", "ORM", "SQLCore", "Store", "ModelStore", "CLibXML2"], swiftSettings: strict),
        // `cimdb server`: the HTTP API agents talk to (Hummingbird), stateless over one database.
        .target(
            name: "Server",
            dependencies: [
                "AgentProtocol", "CIM", "Export", "Ingest", "Inventory", "ModelStore", "ORM", "SQLCore", "Store", "CommandSupport", "TaskStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // HTTP/1.1 over POSIX sockets for plain http://, without Foundation: the agent's client
        // (URLSession would bring libcurl and two TLS libraries into the agent; docs/agent.md).
        .target(name: "HTTPClient", dependencies: ["CLibSSL"], swiftSettings: strict),
        // OpenSSL, for the agent's https:// (HTTPClient/TLS.swift).
        .systemLibrary(name: "CLibSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // SQLite, the agent's node-side cache and journal.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // `cimdb agent`: runs the discovery and update monitors of a node, journals and delivers results.
        .target(
            name: "Agent",
            dependencies: [
                "AgentProtocol", "CIM", "Inventory", "CSQLite", "HTTPClient",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // What every command shares: how errors are reported, the version, signals, logging, child processes.
        .target(
            name: "CommandSupport",
            dependencies: [
                "SQLCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: strict
        ),
        // The `agent` command, shared by `cimdb` and the small `cimdb-agent` executable.
        .target(
            name: "AgentCLI",
            dependencies: [
                "Agent", "AgentProtocol", "CommandSupport", "Inventory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The agent alone, for nodes (its resident size is a goal; README, "Footprint and load").
        .executableTarget(name: "cimdb-agent", dependencies: ["AgentCLI"], swiftSettings: strict),
        // `cimdb bench`: the benchmarks, each against a reference run in the same job.
        .target(
            name: "Benchmarks",
            dependencies: [
                "AgentProtocol", "CIM", "CommandSupport", "Export", "Fleet", "Ingest", "Installation", "Inventory", "MOF",
                "ModelStore", "ORM", "SchemaGen", "Server", "SQLCore", "Store", "Tasks", "TaskStore", "Proxy", "ProxyService", "Upstream",
                "HTTPClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: strict
        ),
        // The command tree of the `cimdb` executable.
        .target(
            name: "CLI",
            dependencies: [
                "AgentCLI", "AgentProtocol", "Benchmarks", "CIM", "CommandSupport", "Export", "Ingest", "Installation", "Inventory",
                "MOF", "ModelStore", "ORM", "SchemaGen", "Server", "SQLCore", "Store", "Tasks", "TaskStore", "Proxy", "ProxyService",
                "ProxyFeed", "Upstream", "HTTPClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "cimdb", dependencies: ["CLI"], swiftSettings: strict),
        // Regenerates everything generated from mof/, migrations/, sql/ and scripts/ (`--check` for
        // CI). Does not depend on generated code, so a broken generated file can always be regenerated.
        .executableTarget(name: "cimdb-generate", dependencies: ["CIM", "MOF", "SchemaGen"], swiftSettings: strict),

        // MARK: Tests

        // A PostgreSQL for tests: the embedded cluster in a temporary directory, databases from a
        // migrated template.
        .target(name: "StoreTesting", dependencies: ["SQLCore", "Store"], swiftSettings: strict),
        // Blocking parts of tests (child processes, long compiles) run off the cooperative pool.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        // Test databases with cimdb installed (and configured), copied from templates.
        .target(
            name: "InstallationTesting", dependencies: ["Ingest", "Installation", "Inventory", "Store", "StoreTesting"],
            path: "Tests/InstallationTesting", swiftSettings: strict
        ),
        // The generated Swift types of the default model (mof/cimdb.mof), a fixture of the schema
        // generator's tests. Regenerate with `swift run cimdb-generate`.
        .target(name: "CIMModel", dependencies: ["CIM", "ORM", "SQLCore"], path: "Tests/CIMModel", swiftSettings: strict),

        .testTarget(name: "CIMTests", dependencies: ["CIM"], swiftSettings: strict),
        .testTarget(name: "MOFTests", dependencies: ["MOF", "CIM", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "StoreTests", dependencies: ["SQLCore", "Store", "StoreTesting"], swiftSettings: strict),
        .testTarget(
            name: "SchemaGenTests",
            dependencies: [
                "SchemaGen", "ORM", "MOF", "CIM", "SQLCore", "Store", "StoreTesting", "CIMModel", "Migrations", "ModelStore", "TestSupport",
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "TasksTests", dependencies: ["Tasks", "Inventory"], swiftSettings: strict),
        .testTarget(name: "ProxyTests", dependencies: ["Proxy"], swiftSettings: strict),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient"], swiftSettings: strict),
        .testTarget(name: "CommandSupportTests", dependencies: ["CommandSupport"], swiftSettings: strict),
        .testTarget(name: "InventoryTests", dependencies: ["Inventory", "Fleet", "CIM", "ORM", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "IngestTests",
            dependencies: [
                "Ingest", "Inventory", "Fleet", "CIM", "MOF", "ORM", "SQLCore", "Store", "StoreTesting", "InstallationTesting", "Migrations",
                "ModelStore", "Installation",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ExportTests",
            dependencies: [
                "Export", "Ingest", "Inventory", "Fleet", "CIM", "ORM", "SQLCore", "Store", "StoreTesting", "InstallationTesting", "Migrations",
                "ModelStore", "Installation", "TestSupport",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "AgentProtocol", "Ingest", "Inventory", "Server", "SQLCore", "Store", "InstallationTesting", "TaskStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Agent", "AgentProtocol", "Server", "Ingest", "Inventory", "SQLCore", "Store", "StoreTesting", "InstallationTesting", "Migrations",
                "Installation", "ModelStore", "cimdb", "HTTPClient", "Tasks", "TaskStore", "Proxy", "ProxyClient",
            ],
            exclude: ["Fixtures"], swiftSettings: strict
        ),
        .testTarget(
            name: "CLITests", dependencies: ["cimdb", "cimdb-generate", "cimdb-agent", "StoreTesting", "SQLCore", "Store", "TestSupport"],
            swiftSettings: strict),
    ]
)
