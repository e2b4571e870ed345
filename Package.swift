// swift-tools-version:6.2
//
// cimdb — a relational CMDB for heterogeneous clusters.
// Modules by concern, dependencies one way:
//   CIM (meta-model; no I/O) ← MOF (compiler)
//   CIM + Store ← ORM (model runtime: SQL names, values, instances) ← SchemaGen (DDL, Swift emitters, evolution)
//   ORM ← CIMModel (generated Swift types of the default model)
//   CLibPQ ← Store (libpq, pool, COPY, LISTEN, migrations, embedded cluster)
//   Migrations (the product's SQL, embedded; generated)
//   CLibXML2 + ORM ← Export (CIM-XML)
//   all ← CLI ← cimdb (executable);  MOF + SchemaGen ← cimdb-generate (regenerates what is generated)
import PackageDescription

let strict: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // The CIM meta-model: data types, values, qualifiers, classes, instance paths. No I/O.
        .target(name: "CIM", swiftSettings: strict),
        // The MOF compiler: lexer, parser, resolver, diagnostics, JSON dump.
        .target(name: "MOF", dependencies: ["CIM"], swiftSettings: strict),
        // The model runtime: how CIM names and values map to PostgreSQL (shared by the schema
        // generator, the generated model types and the instance commands).
        .target(name: "ORM", dependencies: ["CIM", "Store"], swiftSettings: strict),
        // Schema generation: PostgreSQL DDL and Swift types from a resolved model; evolution.
        .target(name: "SchemaGen", dependencies: ["CIM", "ORM"], swiftSettings: strict),
        // The generated Swift types of the default model (mof/cimdb.mof). Regenerate with
        // `swift run cimdb-generate`.
        .target(name: "CIMModel", dependencies: ["CIM", "ORM", "Store"], swiftSettings: strict),
        // The product's own SQL (migrations/), embedded in the binary. Generated.
        .target(name: "Migrations", dependencies: ["Store", "MOF", "CIM"], swiftSettings: strict),
        // libpq, the PostgreSQL C client library.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // The store: connections, pool, COPY, LISTEN/NOTIFY, migrations, the embedded cluster.
        .target(
            name: "Store",
            dependencies: ["CLibPQ", .product(name: "Subprocess", package: "swift-subprocess")],
            swiftSettings: strict
        ),
        // The inventory: configuration, the script wire formats, discovery and update processing.
        .target(
            name: "Inventory",
            dependencies: [
                "CIM", "ORM", "Store",
                .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // libxml2, for writing CIM-XML.
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        // CIM-XML export (DSP0201): the inventory as VALUE.OBJECTWITHPATH documents, streamed.
        .target(name: "Export", dependencies: ["CIM", "ORM", "Store", "CLibXML2"], swiftSettings: strict),
        // A synthetic fleet: what the default scripts would report on N nodes (benchmarks, tests).
        .target(name: "Fleet", dependencies: ["CIM", "Inventory"], swiftSettings: strict),
        // What agents and servers agree on: signed requests, assignments, result framing.
        .target(
            name: "AgentProtocol",
            dependencies: ["Inventory", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // `cimdb server`: the HTTP API agents talk to (Hummingbird), stateless over one database.
        .target(
            name: "Server",
            dependencies: [
                "AgentProtocol", "Inventory", "ORM", "Store", "Export", "Migrations", "CIM",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // SQLite, the agent's node-side cache and journal.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // `cimdb agent`: runs the discovery and update monitors of a node, journals and delivers results.
        .target(
            name: "Agent",
            dependencies: [
                "AgentProtocol", "CIM", "Inventory", "CSQLite",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The `agent` command, shared by `cimdb` and the small `cimdb-agent` executable.
        .target(
            name: "AgentCLI",
            dependencies: [
                "Agent", "Inventory", "Store",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The agent alone, for nodes: none of the server, compiler, export or database code (its
        // resident size is a goal; build it with --static-swift-stdlib).
        .executableTarget(name: "cimdb-agent", dependencies: ["AgentCLI"], swiftSettings: strict),
        // A PostgreSQL for tests: the embedded cluster in a temporary directory.
        .target(name: "StoreTesting", dependencies: ["Store"], swiftSettings: strict),
        // The command tree of the `cimdb` executable.
        .target(
            name: "CLI",
            dependencies: [
                "CIM", "MOF", "ORM", "SchemaGen", "Store", "Migrations", "Inventory", "Fleet", "Export",
                "AgentProtocol", "Server", "Agent", "AgentCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "cimdb", dependencies: ["CLI"], swiftSettings: strict),
        // Regenerates everything generated from mof/ and migrations/ (`--check` for CI). Does not
        // depend on generated code, so a broken generated file can always be regenerated.
        .executableTarget(name: "cimdb-generate", dependencies: ["MOF", "SchemaGen"], swiftSettings: strict),

        .testTarget(name: "CIMTests", dependencies: ["CIM"], swiftSettings: strict),
        .testTarget(name: "MOFTests", dependencies: ["MOF", "CIM"], swiftSettings: strict),
        .testTarget(name: "StoreTests", dependencies: ["Store", "StoreTesting"], swiftSettings: strict),
        .testTarget(name: "SchemaGenTests", dependencies: ["SchemaGen", "ORM", "MOF", "CIM", "Store", "StoreTesting", "CIMModel", "Migrations"], swiftSettings: strict),
        .testTarget(name: "InventoryTests", dependencies: ["Inventory", "Fleet", "CIM", "ORM", "Store", "StoreTesting", "Migrations"], swiftSettings: strict),
        .testTarget(name: "ExportTests", dependencies: ["Export", "Inventory", "Fleet", "CIM", "ORM", "Store", "StoreTesting", "Migrations"], swiftSettings: strict),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "AgentProtocol", "Server", "Inventory", "Store", "StoreTesting", "Migrations", "cimdb"],
                    exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "CLITests", dependencies: ["cimdb", "cimdb-generate", "StoreTesting"], swiftSettings: strict),
    ]
)
