import CIM
import Foundation
import Ingest
import Installation
import InstallationTesting
import Inventory
import Migrations
import ModelStore
import ORM
import SQLCore
import Store
import StoreTesting
import Testing

/// A fresh database with cimdb's schema, the default model and, unless `configured` is false,
/// the default inventory configuration.
func inventoryDatabase(configured: Bool = true) async throws -> ConnectionPool {
    try await TestDatabases.pool(configured: configured)
}

let RS = "\u{1E}", GS = "\u{1D}", US = "\u{1F}"

/// One RS-separated, LF-terminated output line.
func line(_ fields: String...) -> String { fields.joined(separator: RS) + "\n" }

/// Discovery output lines of the default configuration's classes on node `node`.
enum Lines {
    static func system(_ node: String) -> String { line("CIM_ComputerSystem", node) }
    static func fileSystem(_ node: String, _ name: String) -> String { line("CIM_FileSystem", "CIM_ComputerSystem", node, name) }
    static func port(_ node: String, _ device: String) -> String { line("CIM_EthernetPort", device, "CIM_ComputerSystem", node) }
    static func endpoint(_ node: String, _ name: String) -> String { line("CIM_IPProtocolEndpoint", name, "CIM_ComputerSystem", node) }

    static func systemPath(_ node: String) -> String { #"CIM_ComputerSystem.CreationClassName="CIM_ComputerSystem",Name="\#(node)""# }
    static func fileSystemPath(_ node: String, _ name: String) -> String {
        #"CIM_FileSystem.CreationClassName="CIM_FileSystem",CSCreationClassName="CIM_ComputerSystem",CSName="\#(node)",Name="\#(name)""#
    }
    /// A CIM_HostedFileSystem line (association output).
    static func hosted(_ node: String, _ name: String) -> String {
        InstancePath(
            className: "CIM_HostedFileSystem",
            keys: [
                ("GroupComponent", .string(systemPath(node))), ("PartComponent", .string(fileSystemPath(node, name))),
            ]
        ).description + "\n"
    }
}

/// A discovery result of the default monitor.
func discovery(
    _ node: String, sequence: Int64 = 0, _ runs: [(String, String, String?)], status: [String: DiscoveryResult.Status] = [:]
) -> DiscoveryResult {
    DiscoveryResult(
        node: node, monitor: "default", sequence: sequence, startedAt: "2026-11-22T00:00:00.000Z", finishedAt: "2026-11-22T00:00:01.000Z",
        settings: runs.map { id, output, associations in
            DiscoveryResult.SettingsRun(
                id: id, status: status[id] ?? .ok, discovery: Array(output.utf8), associations: associations.map { Array($0.utf8) })
        })
}

func update(_ node: String, _ settings: String, _ property: String, _ output: String, sequence: Int64 = 0) -> UpdateResult {
    UpdateResult(
        node: node, settings: settings, property: property, sequence: sequence, startedAt: "2026-11-22T00:00:00.000Z",
        finishedAt: "2026-11-22T00:00:01.000Z", status: .ok, output: Array(output.utf8))
}

extension Connection {
    func count(_ sql: SQL) throws -> Int {
        try execute("SELECT count(*) AS n FROM (\(sql)) AS q").first?.int("n") ?? -1
    }

    func catalog() throws -> ModelCatalog { try ModelCatalog.load(from: self) }

    @discardableResult
    func discover(_ result: DiscoveryResult) throws -> DiscoveryOutcome {
        try DiscoveryProcessor(catalog: try catalog()).apply(result, on: self)
    }

    @discardableResult
    func apply(_ result: UpdateResult) throws -> UpdateOutcome {
        try UpdateProcessor(catalog: try catalog()).apply(result, on: self)
    }
}

extension DiscoveryOutcome {
    var summary: DiscoverySummary? {
        if case .applied(let s) = self { return s }
        return nil
    }
    var errors: [String] {
        if case .rejected(_, let errors) = self { return errors.map(\.description) }
        return []
    }
}

extension UpdateOutcome {
    var summary: UpdateSummary? {
        if case .applied(let s) = self { return s }
        return nil
    }
    var errors: [String] {
        if case .rejected(_, let errors) = self { return errors.map(\.description) }
        return []
    }
}
