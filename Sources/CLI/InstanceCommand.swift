import ArgumentParser
import CIM
import CommandSupport
import Foundation
import ModelStore
import ORM
import Store

/// `cimdb instance …`: record, show and remove instances by hand.
struct InstanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instance",
        abstract: "Add, show, list and remove instances of any class of the installed model.",
        discussion: """
            For objects no script discovers (racks, switches without an agent). Instances are \
            named by their instance paths: Class.Key="value",Other=3 (keys in any order; \
            references are quoted paths of existing instances).

            Examples:
              cimdb instance add CIM_ComputerSystem Name=node1
              cimdb instance add CIM_Processor SystemCreationClassName=CIM_ComputerSystem SystemName=node1 DeviceID=cpu0 CurrentClockSpeed=2400
              cimdb instance show 'CIM_ComputerSystem.CreationClassName="CIM_ComputerSystem",Name="node1"'
              cimdb instance rm 'CIM_ComputerSystem.CreationClassName="CIM_ComputerSystem",Name="node1"'
            """,
        subcommands: [Add.self, Show.self, List.self, Remove.self]
    )

    static func store(_ connection: Connection) throws -> InstanceStore {
        let catalog = try ModelCatalog.load(from: connection)
        if catalog.isEmpty { throw CommandFailure("no model is installed in this database: run `cimdb migrate` first") }
        return InstanceStore(catalog: catalog)
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an instance: CLASS then Property=Value pairs. A CreationClassName key left out is the class name.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The class, e.g. CIM_ComputerSystem.")
        var className: String

        @Argument(help: ArgumentHelp("Property=Value pairs; arrays as {a,b,\"c,d\"}.", valueName: "property=value"))
        var assignments: [String] = []

        @Flag(help: "Succeed without a change when the instance already exists.")
        var ifNotExists = false

        func run() async throws {
            var pairs: [(name: String, text: String)] = []
            for assignment in assignments {
                guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                    throw ValidationError("'\(assignment)' is not Property=Value")
                }
                pairs.append((String(assignment[..<equals]), String(assignment[assignment.index(after: equals)...])))
            }
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                do {
                    let (id, path) = try InstanceCommand.store(connection).add(className: className, assignments: pairs, on: connection)
                    print(path)
                    Output.error("added instance \(id)")
                } catch let error as InstanceError where ifNotExists && error.code == .alreadyExists {
                    print(error.message.dropFirst("instance ".count).dropLast(" already exists".count))
                    Output.error("already there")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an instance and its property values.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The instance path.")
        var path: String

        @Flag(help: "Also show properties without a value.")
        var all = false

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                guard let instance = try InstanceCommand.store(connection).find(path, on: connection) else {
                    throw CommandFailure("no instance \(path)")
                }
                print("path: \(instance.path)")
                print("class: \(instance.className)  id: \(instance.id)")
                let shown = instance.values.filter { all || !$0.value.isNull }
                let width = shown.map(\.name.count).max() ?? 0
                for (name, value) in shown {
                    print("  " + name.padding(toLength: width, withPad: " ", startingAt: 0) + " = " + Self.format(value))
                }
            }
        }

        static func format(_ value: Value) -> String {
            switch value {
            case .null: "NULL"
            case .array(let elements): "{" + elements.map(format).joined(separator: ", ") + "}"
            case .string(let s), .datetime(let s): s
            case .reference(let path): path
            default: value.description
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List instance paths, of a class and its subclasses or of all classes.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The class (all instances when omitted).")
        var className: String?

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                for item in try InstanceCommand.store(connection).list(className: className, on: connection) {
                    print(item.path)
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove an instance and every association that references it.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The instance path.")
        var path: String

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                let removed = try InstanceCommand.store(connection).remove(path, on: connection)
                print("removed \(path)" + (removed > 1 ? " and \(removed - 1) association\(removed == 2 ? "" : "s") referencing it" : ""))
            }
        }
    }
}
