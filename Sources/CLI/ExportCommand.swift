import ArgumentParser
import CIM
import CommandSupport
import Export
import Foundation
import Migrations
import ModelStore
import MOF
import ORM
import Store

/// `cimdb export`: the inventory as a CIM-XML document.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the inventory as a CIM-XML document (DSP0201) for external systems.",
        discussion: """
            One VALUE.OBJECTWITHPATH per instance, inside <CIM><DECLARATION><DECLGROUP.WITHPATH>: \
            the instance path (host, namespace root/cimv2, typed key bindings) and every property \
            of its class (NULLs as properties without a value, arrays with VALUE.NULL entries, \
            references as PROPERTY.REFERENCE, embedded instances marked EmbeddedObject="instance" \
            and carried as their INSTANCE element's text), one instance per line. The document is written \
            as it is read: memory stays flat. With --classes, the declarations of the exported classes and their \
            superclasses come first (VALUE.OBJECTWITHPATH with CLASSPATH and CLASS: every \
            qualifier with its flavors, properties with CLASSORIGIN and PROPAGATED, methods), \
            from the model's MOF source that `cimdb migrate` stored. Characters XML 1.0 cannot hold \
            (control characters, U+FFFE, U+FFFF) are dropped from values and counted in the \
            summary on standard error.

            Examples:
              cimdb export -o inventory.xml
              cimdb export --class CIM_LogicalDevice --node node042 --associations -o node042.xml
              cimdb export --class CIM_EthernetPort | xmllint --noout -
              cimdb export --classes --class CIM_Processor -o processors-with-class.xml
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Only this class and its subclasses.", valueName: "class")) var `class`: String?
    @Option(help: ArgumentHelp("Only the instances this node reports.", valueName: "node")) var node: String?
    @Flag(help: "Include association instances (with --class, those that refer to its instances).") var associations = false
    @Flag(help: "Write the class declarations (with their qualifiers) first.") var classes = false
    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file")) var output = "-"
    @Option(help: ArgumentHelp("The HOST of the instance paths (default: this machine's name).", valueName: "name")) var host: String?

    /// This process's peak resident set (VmHWM). Not getrusage: Linux keeps ru_maxrss across
    /// execve, so a process forked from a big parent would report the parent's size.
    static func peakResidentKilobytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    func run() async throws {
        try await reportingErrors {
            let connection = try await database.connect()
            defer { connection.close() }
            let catalog = try ModelCatalog.load(from: connection)
            var options = CIMXMLExporter.Options(
                className: `class`, node: node, associations: associations,
                host: host ?? ProcessInfo.processInfo.hostName)
            // The model as migrate stored it: which properties hold embedded instances, and
            // the class declarations for --classes.
            let model: Model?
            do {
                model = try ModelSourceStore.model(from: connection)
            } catch let error as ModelSourceError {
                throw CommandFailure(error.message)
            }
            options.model = model
            if classes {
                guard model != nil else {
                    throw CommandFailure("the database holds no model source for --classes: run `cimdb migrate` (it stores it)")
                }
                options.classDeclarations = true
            }
            let summary: CIMXMLExporter.Summary
            do {
                let progress = Progress()
                defer { progress.clear() }
                summary = try CIMXMLExporter(catalog: catalog, options: options).export(to: output, on: connection, progress: progress.update)
            } catch let error as ExportError {
                throw CommandFailure(error.description)
            }
            var line =
                (classes ? "exported \(summary.classes) class declarations and " : "exported ")
                + "\(summary.instances) instances (\(summary.associations) associations)" + (output == "-" ? "" : " to \(output)")
            if let peak = Self.peakResidentKilobytes() { line += String(format: "; peak RSS %.0f MB", Double(peak) / 1024) }
            if summary.plainEmbeddedValues > 0 {
                line += "; \(summary.plainEmbeddedValues) values of embedded-instance properties were not CIM-XML and went out as plain strings"
            }
            if summary.droppedCharacters > 0 {
                line += "; \(summary.droppedCharacters) characters XML 1.0 cannot hold were dropped from values"
            }
            Output.error(line)
        }
    }
}

/// "written N instances" on standard error, twice a second, when it is a terminal: an export of
/// a large inventory takes a while.
private final class Progress {
    private let enabled = isatty(STDERR_FILENO) == 1
    private let start = ContinuousClock.now
    private var shown = ContinuousClock.now
    private var wrote = false

    func update(_ instances: Int) {
        guard enabled, ContinuousClock.now - shown >= .milliseconds(500) else { return }
        shown = ContinuousClock.now
        let seconds = (shown - start) / .seconds(1)
        FileHandle.standardError.write(
            Data(String(format: "\r  %d instances written (%.0f/s) …", instances, Double(instances) / max(seconds, 0.001)).utf8))
        wrote = true
    }

    /// Clears the line before the summary.
    func clear() {
        if wrote { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
