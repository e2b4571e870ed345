import ArgumentParser
import CIM
import CommandSupport
import Foundation
import MOF
import SchemaGen

/// `cimdb mof …`: the MOF compiler.
struct MOFCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mof",
        abstract: "Check and compile CIM models written in MOF (DMTF DSP0004).",
        discussion: """
            A model is one or more MOF files; '#pragma include ("file.mof")' pulls in others, \
            relative to the including file (then to each --include-path). Errors are reported as \
            file:line:column with the source line and a caret, all of them in one run.
            """,
        subcommands: [Check.self, Compile.self]
    )

    /// Options shared by the subcommands that read MOF.
    struct Input: ParsableArguments {
        @Argument(help: ArgumentHelp("The MOF files to compile, in order.", valueName: "file"))
        var files: [String]

        @Option(
            name: [.customShort("I"), .customLong("include-path")],
            help: ArgumentHelp("Also search this directory for #pragma include files (repeatable).", valueName: "dir"))
        var includePaths: [String] = []

        @Flag(name: .customLong("no-warnings"), help: "Do not print warnings.")
        var noWarnings = false

        func validate() throws {
            if files.isEmpty { throw ValidationError("Name at least one MOF file.") }
        }

        /// Compiles the files and prints the diagnostics to standard error.
        func compile() -> Compilation {
            let compilation = Compiler(includePaths: includePaths).compile(files: files)
            for d in compilation.diagnostics where !(noWarnings && d.severity == .warning) {
                Output.error(d.description)
            }
            return compilation
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compile MOF files, report every error, and summarize what the model holds.",
            discussion: """
                Exits 0 when the model has no errors, 1 otherwise. The summary line counts \
                resolved elements: a property inherited by ten classes counts ten times.

                Example:
                  cimdb mof check cim_schema_2.51.0.mof
                """
        )

        @OptionGroup var input: Input

        func run() async throws {
            let compilation = input.compile()
            print(summary(compilation))
            // The model is large and the process ends here: skip tearing it down (as compilers do).
            fastExit(compilation.hasErrors ? 1 : 0)
        }
    }

    struct Compile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compile MOF files and write the resolved model.",
            discussion: """
                Nothing is written when the model has errors.

                Examples:
                  cimdb mof compile mof/cimdb.mof --dump-json model.json
                  cimdb mof compile mof/cimdb.mof acme.mof --sql model.sql --swift Sources/AcmeModel
                """
        )

        @OptionGroup var input: Input

        @Option(
            name: .customLong("dump-json"),
            help: ArgumentHelp("Write the resolved model as JSON to this file ('-' for standard output).", valueName: "file"))
        var dumpJSON: String?

        @Option(
            name: .customLong("sql"),
            help: ArgumentHelp(
                "Write the PostgreSQL DDL (tables in schema cim, comments, catalog rows) to this file ('-' for standard output).", valueName: "file"))
        var sql: String?

        @Option(
            name: .customLong("swift"),
            help: ArgumentHelp("Write Swift model types (one file per class, and ModelTypes.swift) into this directory.", valueName: "dir"))
        var swift: String?

        func run() async throws {
            let compilation = input.compile()
            if compilation.hasErrors {
                Output.error(summary(compilation))
                throw ExitCode(1)
            }
            var wrote = false
            if let dumpJSON {
                try Output.write(try ModelDump.json(compilation.model), to: dumpJSON)
                wrote = true
            }
            if let sql {
                let source = input.files.joined(separator: " ")
                do {
                    try Output.write(Data(try DDLGenerator(model: compilation.model, source: source).createStatements().utf8), to: sql)
                } catch let error as SchemaError {
                    Output.error("Error: \(detailed: error)")
                    throw ExitCode(1)
                }
                wrote = true
            }
            if let swift {
                do {
                    let files = try SwiftGenerator(model: compilation.model, source: input.files.joined(separator: " ")).files()
                    try FileManager.default.createDirectory(atPath: swift, withIntermediateDirectories: true)
                    for (name, contents) in files {
                        try Data(contents.utf8).write(to: URL(fileURLWithPath: swift).appendingPathComponent(name))
                    }
                    Output.error("wrote \(files.count) Swift files to \(swift)")
                } catch let error as SchemaError {
                    Output.error("Error: \(detailed: error)")
                    throw ExitCode(1)
                }
                wrote = true
            }
            if !wrote {
                Output.error("Nothing to write: give --dump-json FILE, --sql FILE and/or --swift DIR.")
                throw ExitCode(64)
            }
            if dumpJSON != "-", sql != "-" { Output.error(summary(compilation)) }
            fastExit(0)
        }
    }
}

/// The one-line summary of a compilation.
func summary(_ compilation: Compilation) -> String {
    let s = compilation.model.statistics
    let errors = compilation.errors.count
    let warnings = compilation.diagnostics.count - errors
    return "\(s.qualifierDeclarations) qualifier declarations, \(s.classes) classes "
        + "(\(s.associations) associations, \(s.indications) indications), \(s.instances) instances; "
        + "resolved: \(s.properties) properties (\(s.keys) keys), \(s.methods) methods; "
        + "\(compilation.files.count) files, \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
}
