/// Exponential backoff with jitter: 1 s, 2 s, 4 s … up to `maximum`, each ±25 %.
struct Backoff {
    private(set) var current: Duration = .seconds(1)
    var maximum: Duration

    init(maximum: Duration = .seconds(60)) { self.maximum = maximum }

    /// Waits the current delay (jittered), at least `floor` (a server's Retry-After), and doubles it.
    mutating func wait(atLeast floor: Duration = .zero) async throws {
        let milliseconds = Double(current.components.seconds) * 1000 + Double(current.components.attoseconds) / 1e15
        let jittered = Duration.milliseconds(Int64(milliseconds * Double.random(in: 0.75...1.25)))
        try await Task.sleep(for: max(jittered, floor))
        current = min(current * 2, maximum)
    }

    mutating func reset() { current = .seconds(1) }
}
