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

/// The results that requests brought in, applied by a single writer in batches.
///
/// Requests from many agents are merged into one batch per kind (DiscoveryProcessor and
/// UpdateProcessor apply a batch with a fixed number of statements), which is what lets one
/// server keep up with thousands of nodes. One writer per server keeps the results of each
/// node in the order they arrived, and avoids deadlocks between the server's own
/// transactions; writers of several servers may still collide, and a batch that loses such a
/// race (deadlock, serialization failure) is applied again rather than rejected.
actor IngestQueue {
    /// One request's results: its outcomes fill in as batches are applied.
    private struct Ticket {
        var outcomes: [ResultBatchResponse.Outcome?]
        var remaining: Int
        var continuation: CheckedContinuation<[ResultBatchResponse.Outcome], any Error>
    }

    /// A result in the queue: which request and position it belongs to.
    struct Entry: Sendable {
        var ticket: Int
        var index: Int
        var result: PendingResult
        var arrived: ContinuousClock.Instant
    }

    private var entries: [Entry] = []
    private var head = 0
    private var tickets: [Int: Ticket] = [:]
    private var nextTicket = 0
    private var worker: CheckedContinuation<Void, Never>?
    private var closed = false
    private let limit: Int
    private let metrics: ServerMetrics

    init(limit: Int, metrics: ServerMetrics) {
        self.limit = limit
        self.metrics = metrics
    }

    var depth: Int { entries.count - head }

    /// Enqueues the results of one request, in order, and returns their outcomes once all are
    /// settled. Throws `IngestUnavailable` when the queue is full or the database is down.
    func submit(_ results: [PendingResult]) async throws -> [ResultBatchResponse.Outcome] {
        if results.isEmpty { return [] }
        if closed { throw IngestUnavailable.database("the server is shutting down") }
        if depth > 0 && depth + results.count > limit { throw IngestUnavailable.queueFull }
        let id = nextTicket
        nextTicket += 1
        let now = ContinuousClock.now
        return try await withCheckedThrowingContinuation { continuation in
            tickets[id] = Ticket(outcomes: Array(repeating: nil, count: results.count), remaining: results.count, continuation: continuation)
            for (index, result) in results.enumerated() {
                entries.append(Entry(ticket: id, index: index, result: result, arrived: now))
            }
            metrics.queueDepth.set(Double(depth))
            if let worker {
                self.worker = nil
                worker.resume()
            }
        }
    }

    /// The next results to apply: the longest run of one kind at the head of the queue, at
    /// most `maximum` (a result that cannot be read goes alone). Waits while the queue is empty;
    /// empty once the queue is shut down.
    func next(maximum: Int) async -> [Entry] {
        while true {
            if closed { return [] }
            // Results of a request that already failed are not applied: the agent resends them.
            while head < entries.count, tickets[entries[head].ticket] == nil { head += 1 }
            if depth > 0 { break }
            await withCheckedContinuation { worker = $0 }
        }
        var end = head + 1
        if entries[head].result.isApplicable {
            let kind = entries[head].result.kind
            while end < entries.count, end - head < maximum, entries[end].result.isApplicable, entries[end].result.kind == kind,
                  tickets[entries[end].ticket] != nil {
                end += 1
            }
        }
        let batch = Array(entries[head..<end])
        head = end
        if head > 4096 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        metrics.queueDepth.set(Double(depth))
        return batch
    }

    /// Stops the queue: the worker's `next` returns empty, waiting requests fail (their agents
    /// resend).
    func shutDown() {
        closed = true
        for (_, ticket) in tickets { ticket.continuation.resume(throwing: IngestUnavailable.database("the server is shutting down")) }
        tickets.removeAll()
        if let worker {
            self.worker = nil
            worker.resume()
        }
    }

    /// Settles results taken with `next`: an outcome each, or a failure for their whole requests.
    func settle(_ batch: [Entry], with outcomes: Result<[ResultBatchResponse.Outcome], any Error>) {
        let now = ContinuousClock.now
        switch outcomes {
        case .success(let outcomes):
            for (entry, outcome) in zip(batch, outcomes) {
                metrics.result(kind: entry.result.kind, outcome: outcome.status.rawValue)
                metrics.ingestLatency.record(now - entry.arrived)
                guard var ticket = tickets[entry.ticket] else { continue }
                ticket.outcomes[entry.index] = outcome
                ticket.remaining -= 1
                if ticket.remaining == 0 {
                    tickets[entry.ticket] = nil
                    ticket.continuation.resume(returning: ticket.outcomes.map { $0! })
                } else {
                    tickets[entry.ticket] = ticket
                }
            }
        case .failure(let error):
            // The request fails as a whole; its other results still queued are dropped from
            // the queue when reached (their ticket is gone) and resent by the agent.
            for entry in batch {
                if let ticket = tickets.removeValue(forKey: entry.ticket) { ticket.continuation.resume(throwing: error) }
            }
        }
    }
}

extension PendingResult {
    /// Discovery and update results are applied in batches; the others are only recorded.
    var isApplicable: Bool {
        switch payload {
        case .discovery, .update: true
        case .undecodable, .misaddressed: false
        }
    }
}
