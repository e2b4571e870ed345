import AgentProtocol
import Ingest
import Inventory
@testable import Server
import Testing

/// The ingest queue's rules, event → action, without tasks or a database.
@Suite("ingest queue state")
struct IngestQueueStateTests {
    typealias Outcome = ResultBatchResponse.Outcome
    let t0 = ContinuousClock.now

    static func update(_ node: String, _ sequence: Int64) -> PendingResult {
        let result = UpdateResult(
            node: node, settings: "s", property: "p", sequence: sequence, startedAt: "", finishedAt: "",
            status: .ok, output: [])
        return PendingResult(node: node, raw: [], payload: .update(result))
    }

    static func discovery(_ node: String, _ sequence: Int64) -> PendingResult {
        let result = DiscoveryResult(node: node, monitor: "m", sequence: sequence, startedAt: "", finishedAt: "", settings: [])
        return PendingResult(node: node, raw: [], payload: .discovery(result))
    }

    static func misaddressed(_ node: String) -> PendingResult {
        PendingResult(node: node, raw: [], payload: .misaddressed(.update, names: "other"))
    }

    static func applied(_ n: Int) -> Result<[Outcome], any Error> { .success(Array(repeating: Outcome(status: .applied), count: n)) }

    @Test func aBatchIsTheLongestRunOfOneKindAcrossRequestsUpToTheMaximum() throws {
        var state = IngestQueueState(limit: 100)
        _ = state.submit([Self.update("a", 1), Self.update("a", 2)], now: t0)
        _ = state.submit([Self.update("b", 1), Self.discovery("b", 2), Self.update("b", 3)], now: t0)
        let first = state.taking(10)
        #expect(first.map(\.result.node) == ["a", "a", "b"])
        #expect(first.map(\.ticket) == [0, 0, 1])
        let batch1 = state.taking(10)
        #expect(batch1.map(\.result.kind) == ["discovery"])
        let batch2 = state.taking(10)
        #expect(batch2.map(\.result.kind) == ["update"])
        #expect(state.take(maximum: 10) == nil)

        _ = state.submit((1...5).map { Self.update("c", $0) }, now: t0)
        #expect(state.take(maximum: 2)?.count == 2)
        #expect(state.depth == 3)
    }

    @Test func aResultThatIsOnlyRecordedGoesAlone() throws {
        var state = IngestQueueState(limit: 100)
        _ = state.submit([Self.misaddressed("a"), Self.update("a", 1), Self.update("a", 2)], now: t0)
        let batch3 = state.taking(10)
        #expect(batch3.count == 1)
        let batch4 = state.taking(10)
        #expect(batch4.count == 2)
    }

    @Test func aRequestIsLetInWholeOrNotAtAll() {
        var state = IngestQueueState(limit: 3)
        // Over the limit into an empty queue: taken (it could never be applied otherwise).
        #expect((try? state.submit((1...5).map { Self.update("a", $0) }, now: t0).get()) == 0)
        #expect(state.submit([Self.update("b", 1)], now: t0).failure == .full)
        #expect(state.depth == 5)
        _ = state.take(maximum: 10)
        #expect((try? state.submit([Self.update("b", 1), Self.update("b", 2)], now: t0).get()) == 1)
    }

    @Test func aRequestIsAnsweredWhenItsLastResultIsSettledInOrderWithLatencies() throws {
        var state = IngestQueueState(limit: 100)
        let ticket = try state.submit([Self.update("a", 1), Self.discovery("a", 2), Self.update("a", 3)], now: t0).get()
        let first = state.taking(10)
        var (completed, settled) = state.settle(first, with: Self.applied(1), now: t0 + .milliseconds(40))
        #expect(completed.isEmpty)
        #expect(settled == [.init(kind: "update", outcome: "applied", latency: .milliseconds(40))])
        let second = state.taking(10)
        (completed, _) = state.settle(second, with: .success([Outcome(status: .duplicate)]), now: t0)
        #expect(completed.isEmpty)
        let third = state.taking(10)
        (completed, _) = state.settle(third, with: .success([Outcome(status: .rejected, rejectedID: 7, errors: ["bad"])]), now: t0)
        #expect(completed.count == 1)
        #expect(completed[0].ticket == ticket)
        #expect(try completed[0].outcomes.get().map(\.status) == [.applied, .duplicate, .rejected])
        #expect(state.waitingRequests == 0)
    }

    @Test func aFailedBatchFailsItsRequestsWholeAndTheirOtherResultsAreSkipped() throws {
        var state = IngestQueueState(limit: 100)
        let failing = try state.submit([Self.update("a", 1), Self.misaddressed("a"), Self.update("a", 2)], now: t0).get()
        let other = try state.submit([Self.discovery("b", 1)], now: t0).get()
        let batch = state.taking(10)
        struct Down: Error {}
        let (completed, settled) = state.settle(batch, with: .failure(Down()), now: t0)
        #expect(completed.map(\.ticket) == [failing])
        #expect(settled.isEmpty)
        // The failed request's remaining results are not applied: the next batch is b's.
        let next = state.taking(10)
        #expect(next.map(\.ticket) == [other])
        #expect(state.take(maximum: 10) == nil)
    }

    @Test func closingFailsTheWaitingRequestsAndRefusesNewOnes() throws {
        var state = IngestQueueState(limit: 100)
        _ = state.submit([Self.update("a", 1)], now: t0)
        _ = state.submit([Self.update("b", 1)], now: t0)
        #expect(state.close() == [0, 1])
        #expect(state.submit([Self.update("c", 1)], now: t0).failure == .closed)
        #expect(state.take(maximum: 10) == nil)
    }

    @Test func anAbandonedRequestsResultsAreSkipped() throws {
        var state = IngestQueueState(limit: 100)
        let gone = try state.submit([Self.update("a", 1)], now: t0).get()
        _ = state.submit([Self.discovery("b", 1)], now: t0)
        state.abandon(gone)
        let batch5 = state.taking(10)
        #expect(batch5.map(\.result.node) == ["b"])
    }
}

extension IngestQueueState {
    /// The next batch, recorded as an issue when there is none.
    mutating func taking(_ maximum: Int, sourceLocation: SourceLocation = #_sourceLocation) -> [Entry] {
        guard let batch = take(maximum: maximum) else {
            Issue.record("no batch", sourceLocation: sourceLocation)
            return []
        }
        return batch
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
