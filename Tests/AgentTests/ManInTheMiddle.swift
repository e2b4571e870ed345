import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A man in the middle on the agents' plain-HTTP link (issue "Trust and durability", findings
/// 1 and 2): `Fixtures/mitm.py`, a process of its own on loopback that agents are pointed at,
/// forwarding to a real server and rewriting what comes back — keeping the real answer's
/// signature headers, or replaying those of an earlier answer, as an attacker without the site
/// key would. A separate process answers however busy the test process's threads are.
final class ManInTheMiddle: Sendable {
    enum Attack: Sendable {
        /// Assignments replaced by a discovery monitor running `script` (served by hash).
        case rewriteAssignments(script: [UInt8])
        /// Every script fetched replaced by `script`.
        case rewriteScripts(script: [UInt8])
        /// Result batches answered "applied" without reaching the server.
        case forgeAcknowledgements
        /// Enrollment answered 200 without reaching the server.
        case forgeEnrollment
    }

    let port: Int
    private let process: Spawned

    init(upstream: String, attack: Attack, directory: String) async throws {
        let port = try freePort()
        self.port = port
        let scriptFile = directory + "/mitm-script-\(port)"
        var arguments = [fixtures.appendingPathComponent("mitm.py").path, String(port), upstream]
        switch attack {
        case .rewriteAssignments(let script), .rewriteScripts(let script):
            try Data(script).write(to: URL(fileURLWithPath: scriptFile))
            arguments += [{ if case .rewriteAssignments = attack { "rewrite-assignments" } else { "rewrite-scripts" } }(), scriptFile]
        case .forgeAcknowledgements: arguments.append("forge-acks")
        case .forgeEnrollment: arguments.append("forge-enrollment")
        }
        process = try Spawned(arguments, executable: "/usr/bin/python3", log: directory + "/mitm-\(port).log")
        try await eventually("the man in the middle listens", timeout: .seconds(120)) { await answersHTTP("http://127.0.0.1:\(port)") }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// The paths of the requests it rewrote, in order.
    var rewritten: [String] {
        process.output.split(separator: "\n").filter { $0.hasPrefix("rewritten ") }.map { String($0.dropFirst("rewritten ".count)) }
    }

    func stop() { process.stop(signal: SIGKILL) }
}
