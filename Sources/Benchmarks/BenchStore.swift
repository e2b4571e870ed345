import ArgumentParser
import CIM
import CommandSupport
import Foundation
import Migrations
import ModelStore
import MOF
import ORM
import SchemaGen
import SQLCore
import Store
import Subprocess
import SystemPackage

/// `cimdb bench store`: the CIM-ORM on PostgreSQL — the full DMTF schema as tables, a million
/// instances through the bulk path against psql's `\copy` of the same rows, and a polymorphic
/// count over them.
struct BenchStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Time the schema generator and the store's bulk path against psql \\copy.",
        discussion: """
            Works in scratch databases of the embedded cluster ($CIMDB_HOME; started when needed) \
            and drops them afterwards. The reference (psql \\copy of the same rows into the same \
            tables) runs in the same job, so the ratio does not depend on the machine's speed.
            """
    )

    @Option(help: "How many CIM_EthernetPort instances to load.")
    var rows = 1_000_000

    @Option(help: ArgumentHelp("The top-level MOF file of the full schema (default: the committed fixture).", valueName: "file"))
    var schema: String?

    @Flag(help: "Skip the full-schema DDL step.")
    var noFullSchema = false

    func run() async throws {
        try await reportingErrors {
            let scratch = try await ScratchDatabases.open()
            defer { scratch.close() }
            let cluster = scratch.cluster, admin = scratch.admin
            func database(_ suffix: String, model: Bool) throws -> Connection {
                let connection = try Connection(try scratch.create(suffix))
                try connection.execute("SET client_min_messages = warning")
                let migrations = EmbeddedMigrations.all.filter { model || $0.version == 1 }
                _ = try Migrator().apply(migrations, on: connection)
                return connection
            }
            print("cimdb bench store (PostgreSQL \(admin.serverVersion / 10000), embedded cluster in \(cluster.postgresDirectory))")

            if !noFullSchema {
                let (top, cleanup) = try await SchemaFixture.locate(schema)
                defer { cleanup() }
                let compilation = Compiler().compile(files: [top])
                guard !compilation.hasErrors else { throw CommandFailure("\(top) has errors") }
                let start = ContinuousClock.now
                let ddl = try DDLGenerator(model: compilation.model, source: top).createStatements()
                let generated = ContinuousClock.now - start
                let connection = try database("full", model: false)
                defer { connection.close() }
                let applyStart = ContinuousClock.now
                try connection.transaction { try $0.executeScript(.verbatim(ddl)) }
                let applied = ContinuousClock.now - applyStart
                print(
                    "  full DMTF schema: \(compilation.model.classes.count) classes, \(ddl.utf8.count / 1_000_000) MB of DDL generated in \(Self.format(generated)), applied in \(Self.format(applied))"
                )
            }

            let reference = try database("reference", model: true)
            defer { reference.close() }
            let ours = try database("ours", model: true)
            defer { ours.close() }
            let catalog = try ModelCatalog.load(from: ours)
            guard let port = catalog.class(named: "CIM_EthernetPort") else { throw CommandFailure("the default model has no CIM_EthernetPort") }
            let names = [
                "SystemCreationClassName", "SystemName", "CreationClassName", "DeviceID", "Caption", "Speed", "PortType",
                "NetworkAddresses", "FullDuplex", "ActiveMaximumTransmissionUnit", "LinkTechnology",
            ]
            let columns = names.compactMap { port.property(named: $0) }
            let loader = BulkLoader(cls: port, columns: columns)

            // The reference: psql \copy of the same rows (ids and paths included) into the same tables.
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cimdb-bench-store-\(getpid())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try writeReferenceFiles(loader: loader, directory: directory)
            let columnList = SQL.list([SQLNames.instanceID] + columns.map(\.sqlColumn)).text
            let psqlStart = ContinuousClock.now
            let psql = try await Subprocess.run(
                .path("/usr/bin/psql"),
                arguments: [
                    cluster.connectionString(database: "cimdb_bench_\(getpid())_reference"), "-v", "ON_ERROR_STOP=1", "-1", "-q",
                    "-c", "\\copy cimdb.instance (id, class_name, path) FROM '\(directory.path)/instance.copy'",
                    "-c", "\\copy cim.cim_ethernetport (\(columnList)) FROM '\(directory.path)/port.copy'",
                ],
                output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
            let psqlTime = ContinuousClock.now - psqlStart
            guard psql.terminationStatus.isSuccess else { throw CommandFailure("psql \\copy failed: \(psql.standardError)") }

            // Ours: the same rows as values, through BulkLoader (id reservation, paths, COPY).
            let oursStart = ContinuousClock.now
            try ours.transaction { connection in
                var batch: [[Value]] = []
                batch.reserveCapacity(Self.batchSize)
                for i in 0..<rows {
                    batch.append(Self.port(i))
                    if batch.count == Self.batchSize {
                        try loader.insert(batch, on: connection)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                try loader.insert(batch, on: connection)
            }
            let oursTime = ContinuousClock.now - oursStart
            let count = try ours.execute("SELECT count(*) AS n FROM cim.cim_ethernetport").first?.int("n") ?? 0
            guard count == rows else { throw CommandFailure("loaded \(count) rows, expected \(rows)") }
            let ratio = psqlTime.seconds / oursTime.seconds
            print("  \(rows) CIM_EthernetPort instances (registry + table rows, \(columns.count) properties):")
            print("    psql \\copy        \(Self.format(psqlTime))  \(Self.rate(rows, psqlTime)) instances/s")
            print(
                "    cimdb bulk path   \(Self.format(oursTime))  \(Self.rate(rows, oursTime)) instances/s  → ratio \(String(format: "%.2f", ratio)) of psql (goal ≥ 0.5)"
            )

            try ours.execute("ANALYZE")
            var times: [Duration] = []
            var total = 0
            for _ in 0..<5 {
                let start = ContinuousClock.now
                total = try ours.execute("SELECT count(*) AS n FROM CIM_LogicalDevice").first?.int("n") ?? 0
                times.append(ContinuousClock.now - start)
            }
            times.sort()
            print(
                "  SELECT count(*) FROM CIM_LogicalDevice over \(total) rows (polymorphic, \(catalog.classes.filter { catalog.isClass($0.name, kindOf: "CIM_LogicalDevice") }.count) tables): median \(Self.format(times[2]))"
            )
        }
    }

    static let batchSize = 50_000

    /// The i-th synthetic port: 8 ports per node.
    static func port(_ i: Int) -> [Value] {
        let node = "node\(String(i / 8))"
        let mac = String(0x0200_0000_0000 + i, radix: 16)
        return [
            .string("CIM_ComputerSystem"), .string(node), .string("CIM_EthernetPort"), .string("eth\(i % 8)"),
            .string("Port eth\(i % 8) of \(node)"), .unsigned(i % 3 == 0 ? 10_000_000_000 : 1_000_000_000), .unsigned(55),
            .array([.string(mac)]), .boolean(true), .unsigned(1500), .unsigned(2),
        ]
    }

    /// The reference's COPY files: the same instances, ids 1…rows.
    func writeReferenceFiles(loader: BulkLoader, directory: URL) throws {
        let keyColumns = loader.columns.enumerated().filter { $0.element.isKey }.sorted { namePrecedes($0.element.name, $1.element.name) }
        guard let instances = OutputStream(toFileAtPath: directory.appendingPathComponent("instance.copy").path, append: false),
            let ports = OutputStream(toFileAtPath: directory.appendingPathComponent("port.copy").path, append: false)
        else { throw CommandFailure("cannot write to \(directory.path)") }
        instances.open()
        ports.open()
        defer {
            instances.close()
            ports.close()
        }
        var a = "", b = ""
        for i in 0..<rows {
            let row = Self.port(i)
            let path = InstancePath(className: loader.cls.name, keys: keyColumns.map { ($0.element.name, row[$0.offset]) })
            a += "\(i + 1)\t\(loader.cls.name)\t\(Self.escape(path.description))\n"
            b += "\(i + 1)\t" + zip(loader.columns, row).map { Self.escape(ValueCoding.sqlValue($1, for: $0).text) }.joined(separator: "\t") + "\n"
            if a.utf8.count > 1 << 20 {
                instances.write(a, maxLength: a.utf8.count)
                ports.write(b, maxLength: b.utf8.count)
                a = ""
                b = ""
            }
        }
        instances.write(a, maxLength: a.utf8.count)
        ports.write(b, maxLength: b.utf8.count)
    }

    static func escape(_ field: String?) -> String {
        guard let field else { return "\\N" }
        return field.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t").replacingOccurrences(
            of: "\n", with: "\\n")
    }

    static func format(_ d: Duration) -> String { String(format: "%.2f s", d.seconds) }
    static func rate(_ n: Int, _ d: Duration) -> String { String(format: "%.0f", Double(n) / d.seconds) }
}

extension OutputStream {
    func write(_ text: String, maxLength: Int) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBufferPointer { write($0.baseAddress!, maxLength: $0.count) }
            if written <= 0 { return }
            offset += written
        }
    }
}
