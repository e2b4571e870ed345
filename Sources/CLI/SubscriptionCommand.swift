import ArgumentParser
import CommandSupport
import Foundation
import Server
import SQLCore
import Store

/// `cimdb subscription`: external systems that receive inventory changes as CIM-XML.
struct SubscriptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscription",
        abstract: "Subscribe external systems (WBEM listeners) to inventory changes.",
        discussion: """
            Every running `cimdb server` delivers: a subscription's URL receives, for each matching \
            change in cimdb.event (an instance created, changed or deleted), a CIM-XML export \
            message (DSP0201 ExportIndication) with a CIM_InstCreation, CIM_InstModification or \
            CIM_InstDeletion whose SourceInstance is the instance as it is now — up to 500 per \
            message, in event order. A subscriber that is down is retried with backoff from the \
            same event; nothing is lost and ingest does not wait for it.

            Examples:
              cimdb subscription add http://cmdb.example:5988/cimlistener --class CIM_FileSystem
              cimdb subscription add http://scheduler:8080/inventory --node ti042
              cimdb subscription list
              cimdb subscription remove 3
            """,
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send changes from now on to a URL.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The subscriber's http(s) URL (it receives POST requests).") var url: String
        @Option(name: .customLong("class"), help: ArgumentHelp("Only this class and its subclasses.", valueName: "class")) var className: String?
        @Option(help: ArgumentHelp("Only changes reported by this node.", valueName: "node")) var node: String?

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                let id = try Subscriptions.add(url: url, className: className, node: node, on: connection)
                let name = try connection.execute("SELECT class_name FROM cimdb.subscription WHERE id = \(id)").first?["class_name"]
                print("subscription \(id): \(url) receives changes of \(name ?? "every class")\(node.map { " on node \($0)" } ?? "")")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Subscriptions and their delivery state.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                let rows = try connection.execute(
                    """
                    SELECT id, url, coalesce(class_name, '*') AS class, coalesce(node, '*') AS node, delivered_through,
                           events_delivered, attempts, coalesce(last_error, '') AS last_error
                    FROM cimdb.subscription ORDER BY id
                    """)
                if rows.isEmpty { print("no subscriptions"); return }
                for row in rows {
                    print(
                        "\(row["id"] ?? "") \(row["url"] ?? "") class \(row["class"] ?? "") node \(row["node"] ?? ""): delivered through event "
                            + "\(row["delivered_through"] ?? "0") (\(row["events_delivered"] ?? "0") events)"
                            + ((row.int64("attempts") ?? 0) > 0 ? "; \(row["attempts"] ?? "") failed attempts: \(row["last_error"] ?? "")" : ""))
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop sending changes to a subscriber.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The subscription's id (cimdb subscription list).") var id: Int64

        func run() async throws {
            try await reportingErrors {
                let connection = try await database.connect()
                defer { connection.close() }
                guard try Subscriptions.remove(id, on: connection) else { throw CommandFailure("no subscription \(id)") }
                print("removed subscription \(id)")
            }
        }
    }
}
