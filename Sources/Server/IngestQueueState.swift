import AgentProtocol

/// The ingest queue's rules as a value: what to do with each event (a request's results
/// arrive, the worker asks for work, a batch is settled, the server stops), with the time
/// passed in. `IngestQueue` keeps one behind an actor and does what it answers — resume a
/// request, wake the worker, record a metric — so every rule here is testable without tasks,
/// clocks or a database.
///
/// Each request gets a ticket; its results wait in arrival order as entries. The worker takes
/// the longest run of one kind at the head (a result that cannot be read goes alone) and
/// settles it: every entry's outcome fills its ticket's slot, and a ticket complete answers its
/// request. A failed batch fails its requests as a whole; their other entries still queued are
/// skipped when reached (the agents resend them).
struct IngestQueueState {
    typealias Outcome = ResultBatchResponse.Outcome
    typealias Instant = ContinuousClock.Instant

    /// A result in the queue: which request and position it belongs to.
    struct Entry: Sendable {
        var ticket: Int
        var index: Int
        var result: PendingResult
        var arrived: Instant
    }

    /// A request whose results are all settled, or which failed.
    struct Completion {
        var ticket: Int
        var outcomes: Result<[Outcome], any Error>
    }

    /// One settled result, for the metrics: kind, outcome, and time from arrival to outcome.
    struct Settled: Equatable {
        var kind: String
        var outcome: String
        var latency: Duration
    }

    enum Refusal: Error, Equatable {
        case full
        case closed
    }

    private struct Ticket {
        var outcomes: [Outcome?]
        var remaining: Int
    }

    let limit: Int
    private var entries: [Entry] = []
    private var head = 0
    private var tickets: [Int: Ticket] = [:]
    private var nextTicket = 0
    private(set) var isClosed = false

    init(limit: Int) { self.limit = limit }

    /// Results waiting to be taken.
    var depth: Int { entries.count - head }
    /// Requests waiting for their outcomes.
    var waitingRequests: Int { tickets.count }

    /// A request brings `results`: their ticket, or why they are refused. A request is let in
    /// whole or not at all; one bigger than the limit is let into an empty queue (else it could
    /// never be applied).
    mutating func submit(_ results: [PendingResult], now: Instant) -> Result<Int, Refusal> {
        if isClosed { return .failure(.closed) }
        if depth > 0 && depth + results.count > limit { return .failure(.full) }
        let id = nextTicket
        nextTicket += 1
        tickets[id] = Ticket(outcomes: Array(repeating: nil, count: results.count), remaining: results.count)
        for (index, result) in results.enumerated() {
            entries.append(Entry(ticket: id, index: index, result: result, arrived: now))
        }
        return .success(id)
    }

    /// The next batch: the longest run of one kind at the head, at most `maximum`; nil when
    /// nothing waits (or the queue is closed).
    mutating func take(maximum: Int) -> [Entry]? {
        if isClosed { return nil }
        // Results of a request that already failed are not applied: the agent resends them.
        while head < entries.count, tickets[entries[head].ticket] == nil { head += 1 }
        guard head < entries.count else { return nil }
        var end = head + 1
        if entries[head].result.isApplicable {
            let kind = entries[head].result.kind
            while end < entries.count, end - head < maximum, entries[end].result.isApplicable, entries[end].result.kind == kind,
                tickets[entries[end].ticket] != nil
            {
                end += 1
            }
        }
        let batch = Array(entries[head..<end])
        head = end
        // Drop taken entries now and then, not at every take (that would be quadratic).
        if head > 4096 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return batch
    }

    /// A batch taken with `take` is settled: an outcome per entry, or a failure of its requests.
    /// Answers the requests now complete and the results settled (for the metrics).
    mutating func settle(_ batch: [Entry], with outcomes: Result<[Outcome], any Error>, now: Instant) -> (completed: [Completion], settled: [Settled])
    {
        var completed: [Completion] = []
        var settled: [Settled] = []
        switch outcomes {
        case .success(let outcomes):
            precondition(outcomes.count == batch.count, "one outcome per result")
            for (entry, outcome) in zip(batch, outcomes) {
                settled.append(Settled(kind: entry.result.kind, outcome: outcome.status.rawValue, latency: now - entry.arrived))
                guard var ticket = tickets[entry.ticket] else { continue }
                ticket.outcomes[entry.index] = outcome
                ticket.remaining -= 1
                if ticket.remaining == 0 {
                    tickets[entry.ticket] = nil
                    // Every slot is filled: remaining counted them down.
                    completed.append(Completion(ticket: entry.ticket, outcomes: .success(ticket.outcomes.compactMap { $0 })))
                } else {
                    tickets[entry.ticket] = ticket
                }
            }
        case .failure(let error):
            for entry in batch where tickets.removeValue(forKey: entry.ticket) != nil {
                completed.append(Completion(ticket: entry.ticket, outcomes: .failure(error)))
            }
        }
        return (completed, settled)
    }

    /// The request `ticket` went away (its task was cancelled): its results still queued are
    /// skipped.
    mutating func abandon(_ ticket: Int) {
        tickets[ticket] = nil
    }

    /// The server stops: the requests still waiting, which fail.
    mutating func close() -> [Int] {
        isClosed = true
        defer { tickets.removeAll() }
        return Array(tickets.keys).sorted()
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
