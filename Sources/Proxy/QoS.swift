/// The quality of service an integrator gives each message (seed 004): where it goes in the
/// queue, how long it may wait, and whether it may be discarded to make room.
public struct QoS: Sendable, Hashable, Codable {
    /// Higher first; FIFO within one.
    public enum Precedence: String, Sendable, Hashable, Codable, CaseIterable {
        case urgent, normal, bulk
    }

    /// `normal` messages may be discarded to make room (rules 2 and 4); `high` ones only when
    /// their TTL has passed.
    public enum Persistence: String, Sendable, Hashable, Codable, CaseIterable {
        case normal, high
    }

    public var precedence: Precedence
    /// How long the message may wait to be sent, in seconds; nil: no limit. Past it, the
    /// message is never forwarded.
    public var ttlSeconds: Int?
    public var persistence: Persistence

    public init(precedence: Precedence = .normal, ttlSeconds: Int? = nil, persistence: Persistence = .normal) {
        self.precedence = precedence
        self.ttlSeconds = ttlSeconds
        self.persistence = persistence
    }

    enum CodingKeys: String, CodingKey {
        case precedence, ttlSeconds = "ttl_seconds", persistence
    }

    /// Every field optional (the defaults above); an unknown precedence or persistence fails.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        precedence = try container.decodeIfPresent(Precedence.self, forKey: .precedence) ?? .normal
        ttlSeconds = try container.decodeIfPresent(Int.self, forKey: .ttlSeconds)
        persistence = try container.decodeIfPresent(Persistence.self, forKey: .persistence) ?? .normal
        if let ttlSeconds, ttlSeconds <= 0 {
            throw DecodingError.dataCorruptedError(forKey: .ttlSeconds, in: container, debugDescription: "a TTL must be positive")
        }
    }
}

/// A duration as people write it: `90`, `90s`, `15m`, `2h`, `7d` (seconds when unitless).
public enum DurationText {
    /// Seconds, or nil when the text is not a positive duration.
    public static func seconds(_ text: String) -> Int? {
        guard let last = text.last else { return nil }
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let (digits, unit) = last.isNumber ? (Substring(text), 1) : (text.dropLast(), units[last] ?? 0)
        guard unit > 0, !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int(digits), value > 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: unit)
        return overflow ? nil : product
    }
}
