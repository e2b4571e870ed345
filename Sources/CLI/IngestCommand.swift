import ArgumentParser
import CommandSupport
import Foundation
import Ingest
import Inventory
import ModelStore
import ORM
import Store

/// `cimdb ingest …`: apply script outputs from files, as the server applies what agents send.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Apply discovery and update script outputs from files (the wire formats of SPEC §4).",
        discussion: """
            For tests, for importing from other collectors, and for trying scripts: the files hold \
            raw script outputs (RS-separated fields, one LF-terminated line per object; instance \
            paths one per line for associations), or a result envelope (--envelope). Exits 0 when \
            applied (or already applied), 1 with every error when the result is rejected; a \
            rejected result changes nothing and is kept in cimdb.rejected_result.

            Examples:
              cimdb ingest discovery --node n1 --monitor default --settings Processor=cpus.rs --associations Processor=cpu-links.txt
              cimdb ingest update --node n1 --settings Processor --property CurrentClockSpeed clock.rs
            """,
        subcommands: [Discovery.self, Update.self]
    )

    static func read(_ path: String) throws -> [UInt8] {
        if path == "-" { return [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read \(path)") }
        return [UInt8](data)
    }

    static func pairs(_ items: [String], _ option: String) throws -> [(String, String)] {
        try items.map { item in
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw ValidationError("--\(option) takes ID=FILE, not '\(item)'")
            }
            return (String(item[..<equals]), String(item[item.index(after: equals)...]))
        }
    }

    /// An envelope that does not decode is rejected like a bad result: kept, with the reason.
    static func rejectEnvelope(
        _ raw: [UInt8], kind: UndecodableEnvelope.ResultKind, error: EnvelopeError, file: String,
        database: DatabaseOptions
    ) async throws -> Never {
        let connection = try await database.connect()
        defer { connection.close() }
        let (id, message) = try UndecodableEnvelope.reject(raw, kind: kind, error: error, from: file, on: connection)
        Output.error(message)
        throw CommandFailure("rejected (1 error); nothing applied; kept as cimdb.rejected_result \(id)")
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }

    struct Discovery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply one discovery result of a node's monitor.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: "The node the outputs come from.") var node: String?
        @Option(help: "The discovery monitor that ran.") var monitor: String?
        @Option(name: .customLong("settings"), help: ArgumentHelp("A settings object's discovery output (repeatable).", valueName: "id=file"))
        var discoveries: [String] = []
        @Option(name: .customLong("associations"), help: ArgumentHelp("A settings object's association output (repeatable).", valueName: "id=file"))
        var associations: [String] = []
        @Option(help: ArgumentHelp("Settings whose run was skipped (its parent found nothing).", valueName: "id")) var skipped: [String] = []
        @Option(help: ArgumentHelp("Settings whose script failed (its instances stay).", valueName: "id")) var failed: [String] = []
        @Option(help: "The result's sequence number (results at or below the last applied one are duplicates).") var sequence: Int64 = 0
        @Option(help: ArgumentHelp("A whole discovery-result envelope instead of the options above.", valueName: "file")) var envelope: String?
        @Option(help: ArgumentHelp("Reject outputs larger than this.", valueName: "bytes")) var maxOutputBytes = DiscoveryProcessor
            .defaultMaximumOutputBytes

        func validate() throws {
            if envelope == nil, node == nil || monitor == nil { throw ValidationError("Give --node and --monitor (or --envelope FILE).") }
            if maxOutputBytes < 1 { throw ValidationError("--max-output-bytes must be positive.") }
        }

        func run() async throws {
            try await reportingErrors {
                var raw: [UInt8]?
                let result: DiscoveryResult
                if let envelope {
                    raw = try IngestCommand.read(envelope)
                    do throws(EnvelopeError) {
                        result = try Envelope.decodeDiscovery(raw!)
                    } catch {
                        try await IngestCommand.rejectEnvelope(raw!, kind: .discovery, error: error, file: envelope, database: database)
                    }
                } else {
                    var runs: [DiscoveryResult.SettingsRun] = []
                    let linked = Dictionary(try IngestCommand.pairs(associations, "associations"), uniquingKeysWith: { a, _ in a })
                    for (id, file) in try IngestCommand.pairs(discoveries, "settings") {
                        runs.append(
                            DiscoveryResult.SettingsRun(
                                id: id, status: .ok, discovery: try IngestCommand.read(file),
                                associations: try linked[id].map(IngestCommand.read)))
                    }
                    for (id, _) in linked where !runs.contains(where: { $0.id == id }) {
                        runs.append(
                            DiscoveryResult.SettingsRun(id: id, status: .ok, discovery: [], associations: try IngestCommand.read(linked[id]!)))
                    }
                    for id in skipped { runs.append(DiscoveryResult.SettingsRun(id: id, status: .skipped, discovery: [])) }
                    for id in failed {
                        runs.append(DiscoveryResult.SettingsRun(id: id, status: .failed, discovery: [], failure: "reported failed by cimdb ingest"))
                    }
                    let now = IngestCommand.timestamp()
                    result = DiscoveryResult(node: node!, monitor: monitor!, sequence: sequence, startedAt: now, finishedAt: now, settings: runs)
                }
                let connection = try await database.connect()
                defer { connection.close() }
                let catalog = try ModelCatalog.load(from: connection)
                switch try DiscoveryProcessor(catalog: catalog, maximumOutputBytes: maxOutputBytes).apply(result, raw: raw, on: connection) {
                case .applied(let summary):
                    print(summary.description)
                case .duplicate(let sequence, let last):
                    print("node \(result.node), monitor \(result.monitor): sequence \(sequence) was already applied (last \(last)); nothing changed")
                case .rejected(let id, let errors):
                    for e in errors { Output.error(e.description) }
                    throw CommandFailure(
                        "rejected (\(errors.count) error\(errors.count == 1 ? "" : "s")); nothing applied; kept as cimdb.rejected_result \(id)")
                }
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply one update result: a property's values on a node.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: "The node the output comes from.") var node: String?
        @Option(help: "The inventory settings object.") var settings: String?
        @Option(help: "The inventory property.") var property: String?
        @Option(help: "The result's sequence number.") var sequence: Int64 = 0
        @Flag(help: "FILE is a whole update-result envelope.") var envelope = false
        @Option(help: ArgumentHelp("Reject outputs larger than this.", valueName: "bytes")) var maxOutputBytes = DiscoveryProcessor
            .defaultMaximumOutputBytes

        @Argument(help: ArgumentHelp("The update script's output ('-' for standard input).", valueName: "file"))
        var file: String

        func validate() throws {
            if !envelope, node == nil || settings == nil || property == nil {
                throw ValidationError("Give --node, --settings and --property (or --envelope).")
            }
            if maxOutputBytes < 1 { throw ValidationError("--max-output-bytes must be positive.") }
        }

        func run() async throws {
            try await reportingErrors {
                let bytes = try IngestCommand.read(file)
                let result: UpdateResult
                if envelope {
                    do throws(EnvelopeError) {
                        result = try Envelope.decodeUpdate(bytes)
                    } catch {
                        try await IngestCommand.rejectEnvelope(bytes, kind: .update, error: error, file: file, database: database)
                    }
                } else {
                    let now = IngestCommand.timestamp()
                    result = UpdateResult(
                        node: node!, settings: settings!, property: property!, sequence: sequence, startedAt: now,
                        finishedAt: now, status: .ok, output: bytes)
                }
                let connection = try await database.connect()
                defer { connection.close() }
                let catalog = try ModelCatalog.load(from: connection)
                switch try UpdateProcessor(catalog: catalog, maximumOutputBytes: maxOutputBytes).apply(
                    result, raw: envelope ? bytes : nil, on: connection)
                {
                case .applied(let summary):
                    print(summary.description)
                case .duplicate(let sequence, let last):
                    print(
                        "node \(result.node), \(result.settings).\(result.property): sequence \(sequence) was already applied (last \(last)); nothing changed"
                    )
                case .rejected(let id, let errors):
                    for e in errors { Output.error(e.description) }
                    throw CommandFailure(
                        "rejected (\(errors.count) error\(errors.count == 1 ? "" : "s")); nothing applied; kept as cimdb.rejected_result \(id)")
                }
            }
        }
    }
}
