import ArgumentParser
import CommandSupport
import Foundation
import Ingest
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// `cimdb inventory …`: the inventory configuration.
struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Configure what the inventory discovers: inventory settings, their properties, discovery monitors.",
        discussion: """
            The configuration is declarative: a YAML file holds the whole of it (settings with \
            their properties and scripts, and discovery monitors), and `apply` makes the \
            database match it, showing the difference. The default configuration for Linux \
            nodes ships with cimdb (`--default`; its source is scripts/inventory.yaml).

            Examples:
              cimdb inventory apply --default
              cimdb inventory apply site.yaml --dry-run
              cimdb inventory list
              cimdb inventory show Processor
            """,
        subcommands: [Apply.self, List.self, Show.self, Remove.self]
    )

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the configuration in the database that of FILE (or the default); show what changes.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The YAML configuration file (scripts by path are relative to it).", valueName: "file"))
        var file: String?

        @Flag(name: .customLong("default"), help: "Apply the default configuration shipped with cimdb.")
        var useDefault = false

        @Flag(help: "Show the changes; change nothing.")
        var dryRun = false

        func validate() throws {
            if (file == nil) == !useDefault { throw ValidationError("Give a FILE or --default (one of them).") }
        }

        func run() async throws {
            try await reportingErrors {
                let (desired, locations, name) = try load()
                let connection = try await database.connect()
                defer { connection.close() }
                let catalog = try ModelCatalog.load(from: connection)
                if catalog.isEmpty { throw CommandFailure("no model is installed in this database: run `cimdb migrate` first") }
                let errors = desired.validate(against: catalog, file: name) { locations[$0] }
                if !errors.isEmpty {
                    for e in errors { Output.error(e.description) }
                    throw CommandFailure("\(errors.count) problem\(errors.count == 1 ? "" : "s") in \(name); nothing changed")
                }
                if dryRun {
                    let diff = ConfigurationDiff(from: try ConfigurationStore.load(from: connection), to: desired)
                    print(diff.description)
                    if !diff.isEmpty { print("(dry run: nothing changed)") }
                    return
                }
                let diff = try ConfigurationStore.apply(desired, on: connection)
                print(diff.description)
                if !diff.isEmpty {
                    print(
                        "applied: \(desired.settings.count) settings, \(desired.settings.reduce(0) { $0 + $1.properties.count }) properties, \(desired.monitors.count) monitors"
                    )
                }
            }
        }

        func load() throws -> (InventoryConfiguration, [String: (line: Int, column: Int)], String) {
            do {
                if useDefault { return (try DefaultConfiguration.load(), [:], DefaultConfiguration.file) }
                guard let file, let bytes = FileManager.default.contents(atPath: file), let text = String(data: bytes, encoding: .utf8) else {
                    throw CommandFailure("cannot read \(file ?? "")")
                }
                var reader = ConfigurationFile(file: file)
                let configuration = try reader.parse(text)
                return (configuration, reader.locations, file)
            } catch let errors as ConfigurationErrors {
                for e in errors.errors { Output.error(e.description) }
                throw CommandFailure(
                    "\(errors.errors.count) problem\(errors.errors.count == 1 ? "" : "s") in \(file ?? DefaultConfiguration.file); nothing changed")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the inventory settings and discovery monitors.")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                let configuration = try ConfigurationStore.load(from: connection)
                if configuration.settings.isEmpty && configuration.monitors.isEmpty {
                    print("no inventory configuration (cimdb inventory apply --default installs the default one)")
                    return
                }
                print("settings:")
                for s in configuration.settings {
                    print(
                        "  \(s.id.padding(toLength: 20, withPad: " ", startingAt: 0)) \(s.className.padding(toLength: 24, withPad: " ", startingAt: 0)) \(s.properties.count) propert\(s.properties.count == 1 ? "y" : "ies")"
                            + (s.parent.map { ", parent \($0)" } ?? ""))
                }
                print("monitors:")
                for m in configuration.monitors {
                    print(
                        "  \(m.name.padding(toLength: 20, withPad: " ", startingAt: 0)) every \(ConfigurationDiff.duration(m.periodMilliseconds)), \(m.settings.count) settings, on \(m.targets.joined(separator: ", "))"
                    )
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one inventory settings object or discovery monitor.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "A settings id or a monitor name.")
        var name: String

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                let configuration = try ConfigurationStore.load(from: connection)
                if let s = configuration.settings(name) {
                    print("settings \(s.id)")
                    print("  class: \(s.className)")
                    print("  keyPropertyOrder: \(s.keyPropertyOrder.joined(separator: ", "))")
                    if let parent = s.parent { print("  parent: \(parent)") }
                    print("  discoveryScript: sha256 \(s.discoveryScript.hash) (\(s.discoveryScript.content.count) bytes)")
                    if let a = s.associationScript { print("  associationScript: sha256 \(a.hash) (\(a.content.count) bytes)") }
                    print("  severity: created \(s.createdSeverity.rawValue), deleted \(s.deletedSeverity.rawValue)")
                    for p in s.properties {
                        print(
                            "  property \(p.name): every \(ConfigurationDiff.duration(p.periodMilliseconds)), timeout \(ConfigurationDiff.duration(p.timeoutMilliseconds)), severity \(p.changedSeverity.rawValue), script sha256 \(p.updateScript.hash.prefix(12))"
                        )
                    }
                    let nodes =
                        try connection.execute("SELECT count(DISTINCT node) AS n FROM cimdb.update_deployment WHERE settings = \(s.id)").first?.int(
                            "n") ?? 0
                    print("  update monitors deployed on \(nodes) node\(nodes == 1 ? "" : "s")")
                } else if let m = configuration.monitor(name) {
                    print("monitor \(m.name)")
                    print(
                        "  period: \(ConfigurationDiff.duration(m.periodMilliseconds)), timeout: \(ConfigurationDiff.duration(m.timeoutMilliseconds))"
                    )
                    print("  settings: \(m.settings.joined(separator: ", "))")
                    print("  targets: \(m.targets.joined(separator: ", "))")
                    if let deployed = try connection.execute("SELECT deployed_at FROM cimdb.discovery_monitor WHERE name = \(m.name)").first?[
                        "deployed_at"]
                    {
                        print("  deployed: \(deployed)")
                    }
                } else {
                    throw CommandFailure("no settings or monitor named \(name)")
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Remove a settings object (with its properties and update monitors) or a discovery monitor.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "settings or monitor.")
        var kind: String

        @Argument(help: "The settings id or monitor name.")
        var name: String

        func validate() throws {
            if !["settings", "monitor"].contains(kind) { throw ValidationError("KIND is settings or monitor") }
        }

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                var configuration = try ConfigurationStore.load(from: connection)
                if kind == "monitor" {
                    guard configuration.monitor(name) != nil else { throw CommandFailure("no monitor named \(name)") }
                    configuration.monitors.removeAll { $0.name == name }
                } else {
                    guard configuration.settings(name) != nil else { throw CommandFailure("no settings named \(name)") }
                    let users = configuration.monitors.filter { $0.settings.contains(name) }.map(\.name)
                    if !users.isEmpty {
                        throw CommandFailure(
                            "settings \(name) is run by monitor\(users.count == 1 ? "" : "s") \(users.joined(separator: ", ")): remove it there first"
                        )
                    }
                    let children = configuration.settings.filter { $0.parent == name }.map(\.id)
                    if !children.isEmpty { throw CommandFailure("settings \(name) is the parent of \(children.joined(separator: ", "))") }
                    configuration.settings.removeAll { $0.id == name }
                }
                print(try ConfigurationStore.apply(configuration, on: connection).description)
            }
        }
    }
}
