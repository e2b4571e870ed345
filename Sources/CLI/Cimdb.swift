import AgentCLI
public import ArgumentParser
import Benchmarks
import CommandSupport

/// The root of the `cimdb` command tree.
public struct Cimdb: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cimdb",
        abstract: "A relational CMDB for heterogeneous clusters, on PostgreSQL.",
        discussion: """
            cimdb compiles CIM models (DMTF MOF) into PostgreSQL tables, fills them from \
            discovery scripts on every node, and answers in plain SQL.

            Getting started:
              cimdb up                               run it all here and show the inventory
              cimdb agent --once --print             run the default scripts, no server
              cimdb db start                         start the embedded PostgreSQL
              cimdb migrate                          install the schema and the default model
              cimdb instance add CIM_ComputerSystem Name=node1
              cimdb db psql                          explore with SQL
              cimdb query "SELECT * FROM report.node_summary"
              cimdb mof check mof/cimdb.mof          check a model and print what it holds
              cimdb task run df --nodes 'n[01-32]'   run a tool on nodes (cimdb access show lists the tools)
              cimdb proxy run --upstream URL          forward events, alarms and data to an external service
            """,
        version: cimdbVersion,
        subcommands: [
            UpCommand.self, DownCommand.self, MOFCommand.self, DBCommand.self, MigrateCommand.self, InventoryCommand.self, IngestCommand.self,
            InstanceCommand.self, QueryCommand.self, ExportCommand.self, SubscriptionCommand.self, NodeCommand.self, SiteKeyCommand.self,
            ServerCommand.self, AccessCommand.self, UserCommand.self, GroupCommand.self, TaskCommand.self, ProxyCommand.self, UpstreamCommand.self,
            AgentCommand.self, BenchCommand.self,
        ]
    )

    public init() {}
}
