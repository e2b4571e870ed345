import Dispatch
import Foundation
public import Logging

/// Runs `body` in a task that SIGINT and SIGTERM cancel (Ctrl-C, `kill`, `cimdb down`), so that
/// long-running commands stop cleanly: children torn down, journals flushed, databases closed.
public enum Signals {
    public static func cancellingOnTermination<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let task = Task { try await body() }
        let sources = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { task.cancel() }
            source.resume()
            return source
        }
        defer { for source in sources { source.cancel() } }
        return try await task.value
    }
}

/// swift-log to standard error, once per process.
public enum LogSetup {
    private static let bootstrap: Void = LoggingSystem.bootstrap(StreamLogHandler.standardError)

    public static func make(_ label: String, level: String) -> Logger {
        _ = bootstrap
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }
}
