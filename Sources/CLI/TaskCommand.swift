import ArgumentParser
import CommandSupport
import Foundation
import SQLCore
import Store
import TaskStore
import Tasks

#if canImport(Glibc)
    import Glibc
#endif

/// `cimdb task`: run tools on sets of nodes, under the access configuration's authorizations.
struct TaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task",
        abstract: "Run a tool on sets of nodes and follow it (all or none: authorized on every target, or run nowhere).",
        discussion: """
            A task runs one tool (cimdb access show lists them) on its targets through the nodes' \
            agents. The database checks, for the session's role, that the tool exists, every \
            target is an enrolled node, the required parameters are given, and that the user may \
            run the tool on every target; if one target fails, nothing runs anywhere and the \
            message names every target that is not authorized. Every state of the task and of \
            each target is a row (report.tasks, report.task_targets, report.task_log).

            Examples:
              cimdb task run df --nodes 'n[01-32,40]' --arg path=/tmp
              cimdb task run df --group rack1 --output dir:/tmp/df
              cimdb task run backup --group bigmem --detach
              cimdb task status 42
              cimdb task output 42 --node n07
              cimdb task kill 42
            """,
        subcommands: [Run.self, Status.self, List.self, OutputCommand.self, Log.self, Cancel.self, Kill.self]
    )

    enum Destination: ExpressibleByArgument, Equatable {
        case screen
        case file(String)
        case directory(String)

        init?(argument: String) {
            if argument == "screen" {
                self = .screen
            } else if argument.hasPrefix("file:"), argument.count > 5 {
                self = .file(String(argument.dropFirst(5)))
            } else if argument.hasPrefix("dir:"), argument.count > 4 {
                self = .directory(String(argument.dropFirst(4)))
            } else {
                return nil
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a tool on nodes and wait for every target (exit status 0 only when the task is COMPLETE).")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The tool.")
        var tool: String

        @Option(help: ArgumentHelp("Target nodes, as a node set: n[01-32,40],gpu[1-4].", valueName: "set"))
        var nodes: String?

        @Option(help: ArgumentHelp("Target the members of a node group (repeatable).", valueName: "group"))
        var group: [String] = []

        @Option(name: .customLong("arg"), help: ArgumentHelp("A parameter of the tool (repeatable).", valueName: "name=value"))
        var arguments: [String] = []

        @Option(help: ArgumentHelp("screen (folded like clush -b), file:PATH (one file) or dir:PATH (one file per node).", valueName: "where"))
        var output: Destination = .screen

        @Flag(help: "With --output screen: one block per node instead of one per distinct output.")
        var noFold = false

        @Flag(help: "Print the task id and return at once.")
        var detach = false

        func validate() throws {
            if nodes == nil && group.isEmpty { throw ValidationError("name targets: --nodes SET and/or --group G") }
            for argument in arguments where !argument.contains("=") || argument.hasPrefix("=") {
                throw ValidationError("--arg \(argument): expected NAME=VALUE")
            }
            if let nodes {
                do { _ = try NodeSet(parsing: nodes) } catch { throw ValidationError("--nodes \(nodes): \(error)") }
            }
        }

        func run() async throws {
            try await reportingErrors {
                let set = try nodes.map { try NodeSet(parsing: $0) } ?? NodeSet()
                var values: [String: String] = [:]
                for argument in arguments {
                    let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    values[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
                }
                let connection = try await database.connect(quiet: true)
                defer { connection.close() }
                let id: Int64
                do {
                    id = try TaskQueries.submit(tool: tool, nodes: set, groups: group, arguments: values, on: connection)
                } catch let refusal as TaskQueries.Refusal {
                    throw CommandFailure(refusal.description)
                }
                if detach {
                    print(id)
                    return
                }
                Output.error("task \(id): \(tool)")
                let summary = try await TaskCommand.wait(for: id, on: connection)
                try TaskCommand.write(id, destination: output, fold: !noFold, on: connection)
                Output.error("task \(id) \(summary.state): \(summary.countsText)")
                if summary.state != "COMPLETE" { throw ExitCode(1) }
            }
        }
    }

    /// Waits for the task's final state; on a terminal, shows the counts per state as they change.
    static func wait(for id: Int64, on connection: Connection) async throws -> TaskQueries.Summary {
        let live = isatty(STDERR_FILENO) == 1
        var shown = ""
        while true {
            guard let summary = try TaskQueries.summary(id, on: connection) else { throw CommandFailure("task \(id) is gone") }
            if live {
                let line = "\(summary.state): \(summary.countsText)"
                if line != shown {
                    FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
                    shown = line
                }
            }
            if summary.isFinal {
                if live { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                return summary
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func write(_ id: Int64, destination: Destination, fold: Bool, node: String? = nil, on connection: Connection) throws {
        let outcomes = try TaskQueries.outcomes(id, node: node, on: connection)
        switch destination {
        case .screen:
            print(OutputFolding.render(OutputFolding.blocks(outcomes, fold: fold)), terminator: "")
        case .file(let path):
            let text = OutputFolding.render(OutputFolding.blocks(outcomes, fold: false))
            try Output.write(Data(text.utf8), to: path)
            Output.error("outputs of \(outcomes.count) target(s) written to \(path)")
        case .directory(let path):
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            for outcome in outcomes {
                try Output.write(Data(outcome.stdout), to: path + "/" + outcome.node)
                if !outcome.stderr.isEmpty { try Output.write(Data(outcome.stderr), to: path + "/" + outcome.node + ".stderr") }
            }
            Output.error("outputs of \(outcomes.count) target(s) written to \(path)/NODE (and NODE.stderr)")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A task's state and its targets per state.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The task id.")
        var id: Int64

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect(quiet: true)
                defer { connection.close() }
                guard let s = try TaskQueries.summary(id, on: connection) else { throw CommandFailure("no task \(id)") }
                print("task \(s.id): \(s.tool) by \(s.user), \(s.state)")
                print("targets: \(s.targets) (\(s.countsText))")
                print("created \(s.created ?? "-"), started \(s.started ?? "-"), finished \(s.finished ?? "-")")
                let outcomes = try TaskQueries.outcomes(id, on: connection)
                var byEnding: [String: [String]] = [:]
                for outcome in outcomes {
                    byEnding["\(outcome.state)\(outcome.failureCause.map { " (\($0))" } ?? "")", default: []].append(outcome.node)
                }
                for (ending, nodes) in byEnding.sorted(by: { $0.key < $1.key }) { print("  \(ending): \(NodeSet(nodes))") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The latest tasks.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: "How many.")
        var limit = 20

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect(quiet: true)
                defer { connection.close() }
                let rows = try TaskQueries.list(limit: limit, on: connection).map { s -> [String?] in
                    [String(s.id), s.tool, s.user, s.state, String(s.targets), s.countsText, s.created]
                }
                print(QueryCommand.table(columns: ["id", "tool", "user", "state", "targets", "by state", "created"], rows: rows), terminator: "")
            }
        }
    }

    struct OutputCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "output", abstract: "A task's outputs, folded like clush -b.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The task id.")
        var id: Int64

        @Option(help: "One node's output only.")
        var node: String?

        @Flag(help: "One block per node.")
        var noFold = false

        @Option(help: ArgumentHelp("screen, file:PATH or dir:PATH.", valueName: "where"))
        var output: Destination = .screen

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect(quiet: true)
                defer { connection.close() }
                guard try TaskQueries.summary(id, on: connection) != nil else { throw CommandFailure("no task \(id)") }
                try TaskCommand.write(id, destination: output, fold: !noFold, node: node, on: connection)
            }
        }
    }

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every state the task and its targets reached, in order.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The task id.")
        var id: Int64

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect(quiet: true)
                defer { connection.close() }
                let rows = try TaskQueries.log(id, on: connection)
                print(QueryCommand.table(columns: ["time", "node", "state", "cause", "server"], rows: rows), terminator: "")
            }
        }
    }

    /// `cancel` and `kill`: the task's state afterwards, or why the database refused.
    static func stop(_ id: Int64, kill: Bool, database: DatabaseOptions) async throws {
        let connection = try await database.connect(quiet: true)
        defer { connection.close() }
        do {
            print("task \(id): \(try TaskQueries.stop(id, kill: kill, on: connection))")
        } catch let refusal as TaskQueries.Refusal {
            throw CommandFailure(refusal.description)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a task: targets not started end CANCELLED (running ones finish).")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The task id.")
        var id: Int64

        func run() async throws {
            try await reportingErrors { try await TaskCommand.stop(id, kill: false, database: database) }
        }
    }

    struct Kill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Kill a task: targets not started end CANCELLED, running ones are killed (their process groups: TERM, then KILL).")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The task id.")
        var id: Int64

        func run() async throws {
            try await reportingErrors { try await TaskCommand.stop(id, kill: true, database: database) }
        }
    }
}
