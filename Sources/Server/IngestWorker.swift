import AgentProtocol
import CommandSupport
import Ingest
import Inventory
import Logging
import ModelStore
import ORM
import SQLCore
import Store
import Synchronization

/// Applies one batch taken from the queue — results of one kind — and answers an outcome per
/// result, in order. Throws when the batch was not applied at all (the agents resend it).
protocol BatchProcessor: Sendable {
    func apply(_ results: [PendingResult]) async throws -> [ResultBatchResponse.Outcome]
}

/// The single writer of a server: takes batches from the queue and applies them.
struct IngestWorker: Sendable {
    var queue: IngestQueue
    var processor: any BatchProcessor
    var batchSize: Int
    var logger: Logger

    func run() async {
        while true {
            let batch = await queue.next(maximum: batchSize)
            if batch.isEmpty { return }
            do {
                let outcomes = try await processor.apply(batch.map(\.result))
                await queue.settle(batch, with: .success(outcomes))
            } catch {
                logger.error("ingest: \(batch.count) result(s) not applied, the agents will resend them: \(detailed: error)")
                await queue.settle(batch, with: .failure(IngestUnavailable.database(String(describing: error))))
            }
        }
    }
}

/// The processors of `Ingest` on the server's pool: discovery and update batches, and the
/// results that are only recorded (unreadable, misaddressed).
final class DatabaseProcessors: BatchProcessor {
    let pool: ConnectionPool
    let configuration: ServerConfiguration
    let logger: Logger
    private let catalog = Mutex<(ModelCatalog, ContinuousClock.Instant)?>(nil)

    init(pool: ConnectionPool, configuration: ServerConfiguration, logger: Logger) {
        self.pool = pool
        self.configuration = configuration
        self.logger = logger
    }

    func apply(_ results: [PendingResult]) async throws -> [ResultBatchResponse.Outcome] {
        let catalog = try await currentCatalog()
        let maximumOutput = configuration.maximumOutputBytes
        let source = configuration.name
        return try await withTransientRetry {
            try await pool.withConnection { connection -> [ResultBatchResponse.Outcome] in
                switch results[0].payload {
                case .discovery:
                    let deliveries = results.compactMap { r -> Delivery<DiscoveryResult>? in
                        if case .discovery(let d) = r.payload { return Delivery(d, raw: r.raw) } else { return nil }
                    }
                    return try DiscoveryProcessor(catalog: catalog, maximumOutputBytes: maximumOutput)
                        .apply(deliveries, on: connection).map(Self.outcome)
                case .update:
                    let deliveries = results.compactMap { r -> Delivery<UpdateResult>? in
                        if case .update(let u) = r.payload { return Delivery(u, raw: r.raw) } else { return nil }
                    }
                    return try UpdateProcessor(catalog: catalog, maximumOutputBytes: maximumOutput)
                        .apply(deliveries, on: connection).map(Self.outcome)
                case .undecodable(let kind, let error):
                    let r = results[0]
                    // Durable like the batches: the agent deletes what the answer settles.
                    let (id, message) = try connection.transaction(durable: true) {
                        try UndecodableEnvelope.reject(r.raw, kind: kind, error: error, from: "node \(r.node) via \(source)", node: r.node, on: $0)
                    }
                    return [.init(status: .rejected, rejectedID: id, errors: [message])]
                case .misaddressed(let kind, let named):
                    let r = results[0]
                    let (id, message) = try connection.transaction(durable: true) {
                        try MisaddressedResult.reject(r.raw, kind: kind, signedBy: r.node, names: named, on: $0)
                    }
                    return [.init(status: .rejected, rejectedID: id, errors: [message])]
                }
            }
        }
    }

    /// The model can change under a running server (`cimdb migrate`): read again every minute.
    private func currentCatalog() async throws -> ModelCatalog {
        if let (catalog, loaded) = catalog.withLock({ $0 }), ContinuousClock.now - loaded < .seconds(60) { return catalog }
        let loaded = try await pool.withConnection { try ModelCatalog.load(from: $0) }
        catalog.withLock { $0 = (loaded, .now) }
        return loaded
    }

    /// Runs `body` again when it lost a race with another server's transaction.
    private func withTransientRetry<T>(_ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as PostgresError where error.isTransient && attempt < 5 {
                attempt += 1
                logger.notice("ingest: \(error.message); applying the batch again (attempt \(attempt + 1))")
                try await Task.sleep(for: .milliseconds(20 * attempt))
            }
        }
    }

    static func outcome(_ outcome: DiscoveryOutcome) -> ResultBatchResponse.Outcome {
        switch outcome {
        case .applied: .init(status: .applied)
        case .duplicate: .init(status: .duplicate)
        case .rejected(let id, let errors): .init(status: .rejected, rejectedID: id, errors: errors.map(\.description))
        }
    }

    static func outcome(_ outcome: UpdateOutcome) -> ResultBatchResponse.Outcome {
        switch outcome {
        case .applied: .init(status: .applied)
        case .duplicate: .init(status: .duplicate)
        case .rejected(let id, let errors): .init(status: .rejected, rejectedID: id, errors: errors.map(\.description))
        }
    }
}
