import AgentProtocol
import Ingest
import Inventory
import Logging
import ModelStore
import ORM
import Prometheus
import Store

/// One result as it waits to be applied.
struct PendingResult: Sendable {
    enum Payload: Sendable {
        case discovery(DiscoveryResult)
        case update(UpdateResult)
        /// Refused before it could be read; recorded as a rejected result with `reason`.
        case undecodable(UndecodableEnvelope.ResultKind, EnvelopeError)
        case misaddressed(UndecodableEnvelope.ResultKind, names: String)
    }

    var node: String
    var raw: [UInt8]
    var payload: Payload

    var kind: String {
        switch payload {
        case .discovery: "discovery"
        case .update: "update"
        case .undecodable(let kind, _), .misaddressed(let kind, _): kind.rawValue
        }
    }
}

/// Why a batch of results was not taken: the queue is full (come back later) or the
/// database is unreachable. Either way the agent keeps the results journaled and resends.
enum IngestUnavailable: Error {
    case queueFull
    case database(String)
}

/// Where the results route hands a request's results, and gets their outcomes back (in
/// order). Throws `IngestUnavailable` when they cannot be taken now. `IngestQueue` in the
/// server; anything that answers in tests.
protocol ResultSink: Sendable {
    func submit(_ results: [PendingResult]) async throws -> [ResultBatchResponse.Outcome]
}

/// The results that requests brought in, applied by a single writer in batches.
///
/// Requests from many agents are merged into one batch per kind (DiscoveryProcessor and
/// UpdateProcessor apply a batch with a fixed number of statements), which is what lets one
/// server keep up with thousands of nodes. One writer per server keeps the results of each
/// node in the order they arrived, and avoids deadlocks between the server's own
/// transactions; writers of several servers may still collide, and a batch that loses such a
/// race (deadlock, serialization failure) is applied again rather than rejected.
///
/// The rules are `IngestQueueState`'s; this actor holds the waiting requests' continuations
/// and the worker's, and records the metrics.
actor IngestQueue: ResultSink {
    typealias Entry = IngestQueueState.Entry

    private var state: IngestQueueState
    private var requests: [Int: CheckedContinuation<[ResultBatchResponse.Outcome], any Error>] = [:]
    private var worker: CheckedContinuation<Void, Never>?
    private let metrics: ServerMetrics
    private let now: @Sendable () -> ContinuousClock.Instant

    init(limit: Int, metrics: ServerMetrics, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        state = IngestQueueState(limit: limit)
        self.metrics = metrics
        self.now = now
    }

    var depth: Int { state.depth }

    /// Enqueues the results of one request, in order, and returns their outcomes once all are
    /// settled. Throws `IngestUnavailable` when the queue is full or the server is stopping.
    func submit(_ results: [PendingResult]) async throws -> [ResultBatchResponse.Outcome] {
        if results.isEmpty { return [] }
        let ticket: Int
        switch state.submit(results, now: now()) {
        case .success(let id): ticket = id
        case .failure(.full): throw IngestUnavailable.queueFull
        case .failure(.closed): throw IngestUnavailable.database("the server is shutting down")
        }
        metrics.queueDepth.set(Double(state.depth))
        return try await withCheckedThrowingContinuation { continuation in
            requests[ticket] = continuation
            if let worker {
                self.worker = nil
                worker.resume()
            }
        }
    }

    /// The next results to apply (see `IngestQueueState.take`). Waits while the queue is
    /// empty; empty once the queue is shut down.
    func next(maximum: Int) async -> [Entry] {
        while true {
            if state.isClosed { return [] }
            if let batch = state.take(maximum: maximum) {
                metrics.queueDepth.set(Double(state.depth))
                return batch
            }
            await withCheckedContinuation { worker = $0 }
        }
    }

    /// Stops the queue: the worker's `next` returns empty, waiting requests fail (their agents
    /// resend).
    func shutDown() {
        for ticket in state.close() {
            requests.removeValue(forKey: ticket)?.resume(throwing: IngestUnavailable.database("the server is shutting down"))
        }
        if let worker {
            self.worker = nil
            worker.resume()
        }
    }

    /// Settles results taken with `next`: an outcome each, or a failure for their whole requests.
    func settle(_ batch: [Entry], with outcomes: Result<[ResultBatchResponse.Outcome], any Error>) {
        let (completed, settled) = state.settle(batch, with: outcomes, now: now())
        for result in settled {
            metrics.result(kind: result.kind, outcome: result.outcome)
            metrics.ingestLatency.record(result.latency)
        }
        for completion in completed {
            requests.removeValue(forKey: completion.ticket)?.resume(with: completion.outcomes)
        }
    }
}
