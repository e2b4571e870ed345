public import CIM
import Dispatch
import Foundation

/// Compiles MOF files into a resolved `Model`: reads the files (following `#pragma include`),
/// parses them, resolves inheritance and qualifiers, and collects every diagnostic.
///
///     let compilation = Compiler().compile(files: ["mof/cimdb.mof"])
///     if compilation.hasErrors { print(compilation.diagnostics) }
public struct Compiler: Sendable {
    /// Directories searched for `#pragma include` files after the including file's own directory.
    public var includePaths: [String]
    /// Reads a file's bytes; nil when it does not exist. Replaceable for in-memory compilation.
    public var readFile: @Sendable (String) -> [UInt8]?

    public init(includePaths: [String] = [], readFile: (@Sendable (String) -> [UInt8]?)? = nil) {
        self.includePaths = includePaths
        self.readFile = readFile ?? Compiler.readFromDisk
    }

    /// Reads a whole file with open/fstat/read into one array (no intermediate Data copy;
    /// the schema is 1,897 files).
    @Sendable static func readFromDisk(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = Int(info.st_size)
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var done = 0
            while done < size {
                let n = read(fd, buffer.baseAddress! + done, size - done)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                done += n
            }
            failed = done < size
            count = done
        }
        return failed ? nil : bytes
    }

    /// Compiles MOF text held in memory (includes are read through `readFile`).
    public func compile(source: String, path: String = "<input>") -> Compilation {
        compile(sources: [SourceFile(path: path, text: source)])
    }

    /// Compiles the given files, in order, as one model.
    public func compile(files: [String]) -> Compilation {
        var diagnostics: [Diagnostic] = []
        var sources: [SourceFile] = []
        for path in files {
            if let bytes = readFile(path) {
                sources.append(SourceFile(path: path, bytes: bytes))
            } else {
                diagnostics.append(Diagnostic(.error, "cannot read MOF file '\(path)'"))
            }
        }
        var compilation = compile(sources: sources)
        compilation.diagnostics.insert(contentsOf: diagnostics, at: 0)
        return compilation
    }

    func compile(sources: [SourceFile]) -> Compilation {
        let clock = ContinuousClock()
        let start = clock.now
        var loader = IncludeLoader(compiler: self)
        var declarations: [Declaration] = []
        for source in sources {
            loader.expand(loader.parse(source), into: &declarations, namespace: nil)
        }
        let parsed = clock.now
        var resolver = Resolver()
        let model = resolver.resolve(declarations)
        var log = loader.log
        log.append(contentsOf: resolver.log)
        let resolved = clock.now
        return Compilation(
            model: model, diagnostics: log.diagnostics, files: loader.filesRead,
            bytesRead: loader.bytesRead, parseTime: parsed - start, resolveTime: resolved - parsed)
    }
}

/// The result of a compilation: the model (as complete as the errors allowed) and the diagnostics.
public struct Compilation: Sendable {
    public var model: Model
    public var diagnostics: [Diagnostic]
    /// Every file read, in the order they were included.
    public var files: [String]
    /// The total size of those files.
    public var bytesRead = 0
    /// Reading and parsing (with includes), and resolution.
    public var parseTime: Duration = .zero
    public var resolveTime: Duration = .zero

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// A top-level declaration with the file it came from and the namespace in effect.
struct Declaration: Sendable {
    var file: SourceFile
    var production: Production
    var namespace: String?
}

/// Reads and parses files, expanding `#pragma include` depth-first in source order. The files
/// a file includes are read and parsed in parallel before they are expanded in order.
struct IncludeLoader {
    let compiler: Compiler
    var log = DiagnosticLog()
    var filesRead: [String] = []
    var bytesRead = 0
    private var stack: [String] = []

    init(compiler: Compiler) { self.compiler = compiler }

    func parse(_ source: SourceFile) -> SyntaxFile { Parser.parse(source) }

    /// Where an include names a file: relative to the including file, then the include paths.
    func candidates(for path: String, from includer: String) -> [String] {
        if path.hasPrefix("/") { return [path] }
        let first: String
        if let slash = includer.utf8.lastIndex(of: UInt8(ascii: "/")) {
            first = String(includer[...slash]) + path
        } else {
            first = path
        }
        return [first] + compiler.includePaths.map { $0 + "/" + path }
    }

    mutating func expand(_ syntax: SyntaxFile, into declarations: inout [Declaration], namespace: String?) {
        filesRead.append(syntax.file.path)
        bytesRead += syntax.file.bytes.count
        for d in syntax.diagnostics { log.report(d) }
        stack.append(syntax.file.path)
        defer { stack.removeLast() }

        // Read and parse every file this one includes, in parallel.
        var includes: [(index: Int, path: String, offset: Int)] = []
        for (index, production) in syntax.productions.enumerated() {
            if case .include(let path, let offset) = production { includes.append((index, path, offset)) }
        }
        let parsed = parseIncludes(includes.map { ($0.path, syntax.file.path) })

        var namespace = namespace
        var includeIndex = 0
        for production in syntax.productions {
            switch production {
            case .include(let path, let offset):
                let result = parsed[includeIndex]
                includeIndex += 1
                guard let child = result else {
                    let searched = candidates(for: path, from: syntax.file.path)
                    log.error(
                        "cannot find include file '\(path)' (looked for \(searched.map { "'\($0)'" }.joined(separator: ", ")))", in: syntax.file,
                        at: offset)
                    continue
                }
                if stack.contains(child.file.path) {
                    log.error("'\(path)' includes itself (include cycle through \(stack.joined(separator: " → ")))", in: syntax.file, at: offset)
                    continue
                }
                expand(child, into: &declarations, namespace: namespace)
            case .namespace(let name):
                namespace = name
            default:
                declarations.append(Declaration(file: syntax.file, production: production, namespace: namespace))
            }
        }
    }

    private func parseIncludes(_ requests: [(path: String, includer: String)]) -> [SyntaxFile?] {
        let results = ParallelResults<SyntaxFile>(count: requests.count)
        let work = { @Sendable (i: Int) in
            let (path, includer) = requests[i]
            for candidate in candidates(for: path, from: includer) {
                if let bytes = compiler.readFile(candidate) {
                    results.set(i, Parser.parse(SourceFile(path: candidate, bytes: bytes)))
                    return
                }
            }
        }
        if requests.count > 8 {
            DispatchQueue.concurrentPerform(iterations: requests.count, execute: work)
        } else {
            for i in requests.indices { work(i) }
        }
        return results.values
    }
}
