// swift-tools-version:6.2
//
// cimdb — a relational CMDB for heterogeneous clusters.
// Modules by concern, dependencies one way:
//   CIM (types, values, names; no I/O) ← MOF (compiler) ← CLI ← cimdb (executable)
import PackageDescription

let strict: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "cimdb",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cimdb", targets: ["cimdb"]),
        .library(name: "MOF", targets: ["MOF"]),
        .library(name: "CIM", targets: ["CIM"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    ],
    targets: [
        // The CIM meta-model: data types, values, qualifiers, classes, instance paths. No I/O.
        .target(name: "CIM", swiftSettings: strict),
        // The MOF compiler: lexer, parser, resolver, diagnostics, JSON dump.
        .target(name: "MOF", dependencies: ["CIM"], swiftSettings: strict),
        // The command tree of the `cimdb` executable.
        .target(
            name: "CLI",
            dependencies: [
                "CIM", "MOF",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "cimdb", dependencies: ["CLI"], swiftSettings: strict),

        .testTarget(name: "CIMTests", dependencies: ["CIM"], swiftSettings: strict),
        .testTarget(name: "MOFTests", dependencies: ["MOF", "CIM"], swiftSettings: strict),
        .testTarget(name: "CLITests", dependencies: ["cimdb"], swiftSettings: strict),
    ]
)
