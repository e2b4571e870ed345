@testable import Agent
import AgentProtocol
import Testing

/// A seeded generator (SplitMix64): the same schedule on every run of a test.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The agent's schedule alone: events in (assignments adopted, a run started, time passing),
/// what is due out. Made-up instants, no sleeping, no processes.
@Suite("the agent's schedule")
struct ScheduleTests {
    let t0 = ContinuousClock.now

    func discovery(_ name: String, period: Int64) -> Assignments.Discovery {
        Assignments.Discovery(monitor: name, periodMilliseconds: period, timeoutMilliseconds: 1000, settings: [])
    }

    func update(_ settings: String, _ property: String, period: Int64) -> Assignments.Update {
        Assignments.Update(
            settings: settings, property: property, script: String(repeating: "0", count: 64), periodMilliseconds: period,
            timeoutMilliseconds: 1000)
    }

    func schedule(spread: Duration = .seconds(30), seed: UInt64 = 1) -> Schedule<SeededGenerator> {
        Schedule(spread: spread, generator: SeededGenerator(state: seed))
    }

    @Test("a first run waits a random time within the spread, never more than a period; nothing is due before it")
    func firstRunWithinSpread() {
        var firsts: [Duration] = []
        for seed in 0..<200 as Range<UInt64> {
            var schedule = schedule(seed: seed)
            schedule.adopt(Assignments(discovery: [discovery("m", period: 720_000)], updates: [update("A", "p", period: 2_000)]), now: t0)
            let long = schedule.entries[.discovery("m")]!.next - t0
            let short = schedule.entries[.update("A.p")]!.next - t0
            #expect(long >= .zero && long <= .seconds(30))
            #expect(short >= .zero && short <= .seconds(2), "at most one period")
            #expect(schedule.due(now: t0 + long - .milliseconds(1)).contains(.discovery("m")) == false)
            #expect(schedule.due(now: t0 + long).contains(.discovery("m")))
            firsts.append(long)
        }
        #expect(Set(firsts).count > 150, "spread, not one instant")
        #expect(firsts.contains { $0 < .seconds(10) } && firsts.contains { $0 > .seconds(20) })
    }

    @Test("without a spread every monitor is due at once")
    func noSpread() {
        var schedule = schedule(spread: .zero)
        schedule.adopt(Assignments(discovery: [discovery("m", period: 60_000)], updates: [update("A", "p", period: 60_000)]), now: t0)
        #expect(schedule.due(now: t0) == [.discovery("m"), .update("A.p")])
        #expect(schedule.nextWake(now: t0) == t0)
    }

    @Test("after a run starts, the next is a period ±5 % later; until then it is not due")
    func nextRunAfterPeriod() {
        var schedule = schedule(spread: .zero)
        schedule.adopt(Assignments(discovery: [discovery("m", period: 480_000)], updates: []), now: t0)
        var start = t0
        var gaps: Set<Duration> = []
        for _ in 0..<200 {
            #expect(schedule.due(now: start) == [.discovery("m")])
            schedule.started(.discovery("m"), now: start)
            #expect(schedule.due(now: start).isEmpty, "not due again right after it started")
            let next = try! #require(schedule.nextWake(now: start))
            let gap = next - start
            #expect(gap >= .milliseconds(456_000) && gap <= .milliseconds(504_000))
            #expect(schedule.due(now: next - .milliseconds(1)).isEmpty && schedule.due(now: next) == [.discovery("m")])
            gaps.insert(gap)
            start = next + .milliseconds(250)  // the loop wakes a little late
        }
        #expect(gaps.count > 150, "jittered, not one period")
    }

    @Test("discovery before updates when both are due, then by name")
    func discoveryFirst() {
        var schedule = schedule(spread: .zero)
        schedule.adopt(
            Assignments(
                discovery: [discovery("z", period: 60_000), discovery("a", period: 60_000)],
                updates: [update("B", "q", period: 60_000), update("A", "p", period: 60_000)]), now: t0)
        #expect(schedule.due(now: t0) == [.discovery("a"), .discovery("z"), .update("A.p"), .update("B.q")])
        #expect(MonitorKey.update("A.a") > MonitorKey.discovery("z"))
    }

    @Test("new assignments: unchanged monitors keep their next run, new ones get a first run, removed ones are dropped")
    func adoptKeepsTimes() {
        var schedule = schedule()
        schedule.adopt(
            Assignments(
                discovery: [discovery("m", period: 720_000)], updates: [update("A", "p", period: 480_000), update("A", "q", period: 480_000)]),
            now: t0)
        let mNext = schedule.entries[.discovery("m")]!.next
        schedule.started(.update("A.p"), now: t0 + .seconds(40))
        let pNext = schedule.entries[.update("A.p")]!.next
        let later = t0 + .seconds(100)
        // A.q removed, B.r added, m's period changed.
        schedule.adopt(
            Assignments(
                discovery: [discovery("m", period: 60_000)], updates: [update("A", "p", period: 480_000), update("B", "r", period: 480_000)]),
            now: later)
        #expect(Set(schedule.entries.keys) == [.discovery("m"), .update("A.p"), .update("B.r")])
        #expect(schedule.entries[.discovery("m")]!.next == mNext && schedule.entries[.update("A.p")]!.next == pNext)
        let rFirst = schedule.entries[.update("B.r")]!.next - later
        #expect(rFirst >= .zero && rFirst <= .seconds(30), "a new monitor's first run is within the spread from when it was adopted")
        schedule.started(.discovery("m"), now: later)
        let mGap = schedule.entries[.discovery("m")]!.next - later
        #expect(mGap >= .milliseconds(57_000) && mGap <= .milliseconds(63_000), "the new period from the next run on")
        schedule.started(.update("A.q"), now: later)
        #expect(schedule.entries[.update("A.q")] == nil, "a run of a removed monitor is ignored")
        schedule.adopt(Assignments(discovery: [], updates: []), now: later)
        #expect(schedule.entries.isEmpty && schedule.nextWake(now: later) == nil && schedule.due(now: later + .seconds(86_400)).isEmpty)
    }

    @Test("the next wake is the earliest next run, and now when one is overdue")
    func nextWake() {
        var schedule = schedule()
        schedule.adopt(Assignments(discovery: [discovery("m", period: 720_000)], updates: [update("A", "p", period: 480_000)]), now: t0)
        let earliest = schedule.entries.values.map(\.next).min()!
        #expect(schedule.nextWake(now: t0) == earliest)
        #expect(schedule.nextWake(now: earliest + .seconds(5)) == earliest + .seconds(5))
    }

    @Test("the same seed and the same assignments give the same schedule")
    func deterministic() {
        let assignments = Assignments(
            discovery: [discovery("m", period: 720_000), discovery("n", period: 720_000)], updates: [update("A", "p", period: 480_000)])
        var a = schedule(seed: 7), b = schedule(seed: 7)
        a.adopt(assignments, now: t0)
        b.adopt(assignments, now: t0)
        #expect(a.entries == b.entries)
    }
}
