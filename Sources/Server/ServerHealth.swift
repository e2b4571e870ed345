import CommandSupport
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A `cimdb server` started as a child process, seen from its parent (`cimdb up`, the benchmarks).
public enum ServerHealth {
    /// Waits until the server on `port` of this machine answers `GET /health` (30 s at most);
    /// the error names the log to read.
    public static func wait(port: Int, log: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let url = URL(string: "http://127.0.0.1:\(port)/health"),
                let (_, response) = try? await URLSession.shared.data(from: url), (response as? HTTPURLResponse)?.statusCode == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CommandFailure("the server did not answer on port \(port) within 30 s (is the port taken? try --port); see \(log)")
    }
}
