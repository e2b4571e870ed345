import AgentProtocol

/// A monitor the agent runs on a period: a discovery monitor by name, an update monitor by
/// `SETTINGS.PROPERTY`. Discovery sorts first: updates read the instance cache discovery fills.
enum MonitorKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    case discovery(String)
    case update(String)

    static func < (a: MonitorKey, b: MonitorKey) -> Bool { (a.rank, a.name) < (b.rank, b.name) }

    private var rank: Int {
        switch self {
        case .discovery: 0
        case .update: 1
        }
    }

    var name: String {
        switch self {
        case .discovery(let name), .update(let name): name
        }
    }

    var description: String {
        switch self {
        case .discovery(let name): "discovery \(name)"
        case .update(let key): "update \(key)"
        }
    }
}

/// When each assigned monitor runs next: a value with no clock and no I/O. NodeAgent feeds it
/// events — new assignments, a run started — with the time they happened, and asks which
/// monitors are due and when to wake next (tests do the same with made-up instants).
///
/// A monitor's first run waits a random time up to `spread` (at most one period), so that a
/// fleet started together does not report in the same second; each later run comes one period
/// ±5 % after the previous one started, so that runs started together drift apart.
struct Schedule<Generator: RandomNumberGenerator> {
    typealias Instant = ContinuousClock.Instant

    struct Entry: Hashable {
        var periodMilliseconds: Int64
        var next: Instant
    }

    let spread: Duration
    private(set) var entries: [MonitorKey: Entry] = [:]
    private var generator: Generator

    init(spread: Duration, generator: Generator) {
        self.spread = spread
        self.generator = generator
    }

    /// New assignments: monitors kept keep their next run (with the new period for the runs
    /// after it), new ones get a first run within the spread, removed ones are dropped.
    mutating func adopt(_ assignments: Assignments, now: Instant) {
        var periods: [MonitorKey: Int64] = [:]
        for monitor in assignments.discovery { periods[.discovery(monitor.monitor)] = monitor.periodMilliseconds }
        for monitor in assignments.updates { periods[.update(monitor.key)] = monitor.periodMilliseconds }
        var next: [MonitorKey: Entry] = [:]
        // In key order, so that a seeded generator gives the same schedule for the same assignments.
        for (key, period) in periods.sorted(by: { $0.key < $1.key }) {
            let at = entries[key]?.next ?? now + Jitter.firstDelay(period: period, spread: spread, using: &generator)
            next[key] = Entry(periodMilliseconds: period, next: at)
        }
        entries = next
    }

    /// The monitors whose time has come, discovery first, then by name.
    func due(now: Instant) -> [MonitorKey] {
        entries.filter { $0.value.next <= now }.keys.sorted()
    }

    /// A monitor's run started at `now`: its next one is a period ±5 % later. A monitor no
    /// longer assigned is ignored.
    mutating func started(_ key: MonitorKey, now: Instant) {
        guard let period = entries[key]?.periodMilliseconds else { return }
        entries[key]?.next = now + Jitter.nextDelay(period: period, using: &generator)
    }

    /// When the next monitor is due (`now` when one is overdue); nil with no monitor.
    func nextWake(now: Instant) -> Instant? {
        entries.values.map(\.next).min().map { max($0, now) }
    }
}

/// The random parts of a schedule.
enum Jitter {
    /// A monitor's first run: a random delay up to `spread`, at most one period.
    static func firstDelay(period: Int64, spread: Duration, using generator: inout some RandomNumberGenerator) -> Duration {
        let limit = min(spread, .milliseconds(period))
        let milliseconds = limit.components.seconds * 1000 + limit.components.attoseconds / 1_000_000_000_000_000
        guard milliseconds > 0 else { return .zero }
        return .milliseconds(Int64.random(in: 0...milliseconds, using: &generator))
    }

    /// The next period, ±5 %, so that runs started together drift apart.
    static func nextDelay(period: Int64, using generator: inout some RandomNumberGenerator) -> Duration {
        let jitter = max(1, period / 20)
        return .milliseconds(max(1, period + Int64.random(in: -jitter...jitter, using: &generator)))
    }
}
