import ArgumentParser

/// The root of the `cimdb` command tree.
public struct Cimdb: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cimdb",
        abstract: "A relational CMDB for heterogeneous clusters, on PostgreSQL.",
        discussion: """
            cimdb compiles CIM models (DMTF MOF) into PostgreSQL tables, fills them from \
            discovery scripts on every node, and answers in plain SQL.

            Start with the MOF compiler:
              cimdb mof check mof/cimdb.mof          check a model and print what it holds
              cimdb mof compile mof/cimdb.mof --dump-json model.json
            """,
        version: "0.1.0",
        subcommands: [MOFCommand.self, BenchCommand.self]
    )

    public init() {}
}
