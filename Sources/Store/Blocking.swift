import Dispatch
import SQLCore

/// Runs blocking work (libpq calls) on a Dispatch thread and awaits it, so Swift's cooperative
/// thread pool never blocks.
enum Blocking {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
