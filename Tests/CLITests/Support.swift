import Foundation
import TestSupport
import Testing

/// Runs the built `cimdb` executable (next to the test bundle in the build folder) and
/// captures what it prints.
struct CommandResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let cimdbExecutable: URL = {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = bundle.deletingLastPathComponent()
    // swift test runs .build/<config>/cimdbPackageTests.xctest (a file on Linux).
    for _ in 0..<3 {
        let candidate = directory.appendingPathComponent("cimdb")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return repositoryRoot.appendingPathComponent(".build/debug/cimdb")
}()

/// Runs the built cimdb. The child is waited for on a Dispatch thread, not on the cooperative
/// pool (two threads here): other suites keep running meanwhile.
func cimdb(_ arguments: [String], in directory: URL? = nil, environment: [String: String]? = nil) async throws -> CommandResult {
    let process = Process()
    process.executableURL = cimdbExecutable
    process.arguments = arguments
    process.currentDirectoryURL = directory ?? repositoryRoot
    if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    return await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            // Read both pipes to the end before waiting, so a chatty child cannot block on a full pipe.
            let group = DispatchGroup()
            nonisolated(unsafe) var outData = Data()
            group.enter()
            DispatchQueue.global().async {
                outData = out.fileHandleForReading.readDataToEndOfFile()
                group.leave()
            }
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            group.wait()
            process.waitUntilExit()
            continuation.resume(
                returning: CommandResult(
                    status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
                    standardError: String(decoding: errData, as: UTF8.self)))
        }
    }
}

/// Runs a program to its end, off the cooperative pool; its status and its standard output
/// and error, interleaved.
func runProgram(_ executable: URL, _ arguments: [String]) async throws -> (status: Int32, output: String) {
    let result = try await TestSupport.runProgram(executable.path, arguments, mergeStreams: true)
    return (result.status, result.standardOutput)
}

/// A fresh temporary directory for one test.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("cimdb-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A fresh $CIMDB_HOME for one test; `remove()` (deferred) stops its embedded cluster and
/// deletes the directory.
struct FreshHome {
    let url: URL
    var env: [String: String] { ["CIMDB_HOME": url.path] }

    init() throws { url = try temporaryDirectory() }

    func remove() {
        let env = self.env, url = self.url
        Task {
            _ = try? await cimdb(["db", "stop"], environment: env); try? FileManager.default.removeItem(at: url)
        }
    }
}
