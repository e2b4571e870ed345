import ArgumentParser
import Foundation
import MOF
import Subprocess

#if canImport(Glibc)
    import Glibc
    import CIM
    import CommandSupport
    import SystemPackage
#endif

/// `cimdb bench mof`: compile and resolve the DMTF CIM Schema; compare with pywbem's MOF
/// compiler on the same files in the same run.
struct BenchMOF: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mof",
        abstract: "Time the MOF compiler on the full DMTF CIM Schema, against pywbem.",
        discussion: """
            Without --schema, extracts Tests/Fixtures/cim_schema_2.51.0.tar.xz (run from the \
            repository root). pywbem runs twice: its MOFCompiler alone (parses, does not resolve \
            inheritance) and through pywbem_mock's FakedWBEMConnection (compiles and resolves, \
            like cimdb). These machines change speed over time, so the ratios compare the \
            fastest of cimdb's runs with pywbem's run. pywbem is run with --python (default: /opt/cimxml-venv/bin/python \
            if present, else python3); install it with 'python3 -m venv /opt/cimxml-venv && \
            /opt/cimxml-venv/bin/pip install pywbem'.
            """
    )

    @Option(help: ArgumentHelp("The top-level MOF file of the schema.", valueName: "file"))
    var schema: String?

    @Option(help: "Timed in-process runs of cimdb (the median is reported).")
    var runs = 7

    @Option(help: ArgumentHelp("The Python interpreter that has pywbem.", valueName: "path"))
    var python: String?

    @Flag(help: "Skip pywbem.")
    var noPywbem = false

    func run() async throws {
        let (top, cleanup) = try await locateSchema()
        defer { cleanup() }

        // Whole process first, so that RUSAGE_CHILDREN's peak RSS is ours.
        let selfPath = CommandLine.arguments[0].contains("/") ? CommandLine.arguments[0] : "/proc/self/exe"
        let processStart = ContinuousClock.now
        let check = try await Subprocess.run(
            .path(.init(selfPath)), arguments: ["mof", "check", top], output: .string(limit: 1 << 16), error: .string(limit: 1 << 20))
        let processTime = ContinuousClock.now - processStart
        guard check.terminationStatus.isSuccess else {
            throw ValidationError("cimdb mof check failed on \(top):\n\(check.standardError)")
        }
        let processRSS = Self.childrenMaxRSS()

        // In process: one warm-up, then the timed runs.
        var times: [Double] = []
        var last: Compilation?
        for i in 0...runs {
            let start = ContinuousClock.now
            let compilation = Compiler().compile(files: [top])
            let elapsed = (ContinuousClock.now - start).seconds
            if i > 0 { times.append(elapsed) }
            last = compilation
        }
        guard let compilation = last, !compilation.hasErrors else {
            throw ValidationError("the schema has errors; run 'cimdb mof check \(top)'")
        }
        let stats = compilation.model.statistics
        times.sort()
        let median = times[times.count / 2]
        let selfRSS = Self.selfMaxRSS()

        print("MOF compile + resolve of \(top)")
        print(
            "  \(compilation.files.count) files, \(String(format: "%.1f", Double(compilation.bytesRead) / 1e6)) MB; \(stats.classes) classes, \(stats.properties) resolved properties, \(stats.methods) methods"
        )
        print(
            "  cimdb, in process      median \(Self.format(median)) (min \(Self.format(times[0])), \(runs) runs; parse \(Self.format(compilation.parseTime.seconds)), resolve \(Self.format(compilation.resolveTime.seconds)))   peak RSS \(Self.megabytes(selfRSS))"
        )
        print("  cimdb mof check        wall   \(Self.format(processTime.seconds)) (whole process)   peak RSS \(Self.megabytes(processRSS))")

        var resolveRatio: Double?
        if !noPywbem {
            for mode in ["compile", "resolve"] {
                guard let result = try await runPywbem(top, mode: mode) else {
                    print("  pywbem: not available (see --help for the install lines)")
                    break
                }
                let ratio = result.seconds / times[0]
                if mode == "resolve" { resolveRatio = ratio }
                let label =
                    mode == "resolve"
                    ? "pywbem \(result.version), compile + resolve (FakedWBEMConnection)" : "pywbem \(result.version), compile only (MOFCompiler)  "
                print(
                    "  \(label)  \(Self.format(result.seconds)) in process   peak RSS \(Self.megabytes(result.maxRSS))   → cimdb is \(String(format: "%.0f", ratio))× faster"
                )
            }
        }
        var goals = ["< 0.30 s": median < 0.3, "< 100 MB": selfRSS < 100 * 1024]
        if let resolveRatio { goals["≥ 25× pywbem"] = resolveRatio >= 25 }
        let missed = goals.filter { !$0.value }.keys.sorted()
        print("  goals (\(goals.keys.sorted().joined(separator: ", "))): \(missed.isEmpty ? "met" : "NOT met: " + missed.joined(separator: ", "))")
    }

    struct PywbemResult {
        var version: String
        var seconds: Double
        var wall: Double
        var maxRSS: Int
    }

    static let pywbemScript = """
        import json, resource, sys, time
        import pywbem
        t = time.perf_counter()
        if sys.argv[2] == "resolve":
            import pywbem_mock
            conn = pywbem_mock.FakedWBEMConnection()
            conn.compile_mof_file(sys.argv[1], namespace="root/cimv2")
            n = len(conn.EnumerateClassNames(namespace="root/cimv2", DeepInheritance=True))
        else:
            from pywbem._mof_compiler import MOFCompiler, MOFWBEMConnection
            handle = MOFWBEMConnection()
            MOFCompiler(handle, verbose=False, log_func=None).compile_file(sys.argv[1], "root/cimv2")
            n = len(handle.classes["root/cimv2"])
        elapsed = time.perf_counter() - t
        print(json.dumps({"version": pywbem.__version__, "seconds": elapsed, "classes": n,
                          "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
        """

    func runPywbem(_ top: String, mode: String) async throws -> PywbemResult? {
        let interpreter =
            python ?? (FileManager.default.isExecutableFile(atPath: "/opt/cimxml-venv/bin/python") ? "/opt/cimxml-venv/bin/python" : "python3")
        let start = ContinuousClock.now
        let executable: Executable = interpreter.contains("/") ? .path(.init(interpreter)) : .name(interpreter)
        let result = try await Subprocess.run(
            executable, arguments: ["-c", Self.pywbemScript, top, mode],
            output: .string(limit: 1 << 16), error: .string(limit: 1 << 20))
        let wall = (ContinuousClock.now - start).seconds
        let out = result.standardOutput
        guard result.terminationStatus.isSuccess,
            let line = out.split(separator: "\n").last,
            let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let seconds = json["seconds"] as? Double
        else {
            Output.error("pywbem run failed: \((result.standardError).suffix(400))")
            return nil
        }
        return PywbemResult(version: json["version"] as? String ?? "?", seconds: seconds, wall: wall, maxRSS: json["maxrss_kb"] as? Int ?? 0)
    }

    /// The schema's top file, extracting the committed fixture when no --schema is given.
    func locateSchema() async throws -> (String, () -> Void) {
        try await SchemaFixture.locate(schema)
    }

    static func selfMaxRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss
    }

    static func childrenMaxRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        return usage.ru_maxrss
    }

    static func format(_ seconds: Double) -> String { String(format: "%.3f s", seconds) }
    static func megabytes(_ kilobytes: Int) -> String { String(format: "%.0f MB", Double(kilobytes) / 1024) }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
