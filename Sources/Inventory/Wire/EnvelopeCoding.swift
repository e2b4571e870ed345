import CIM

/// The envelope's field checks for the Codable conformances, as `DecodingError`s.
enum EnvelopeCoding {
    static func checkFormat<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K, expected: String) throws {
        let found = try c.decode(String.self, forKey: key)
        if found != expected {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: Envelope.wrongFormat(found, expected: expected))
        }
    }

    static func identifier<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> String {
        let text = try c.decode(String.self, forKey: key)
        if text.isEmpty { throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: Envelope.emptyIdentifier) }
        return text
    }

    static func timestamp<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> String {
        let text = try c.decode(String.self, forKey: key)
        if !Envelope.isTimestamp(text) { throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: Envelope.badTimestamp(text)) }
        return text
    }

    static func sequence<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> Int64 {
        let value = try c.decode(Int64.self, forKey: key)
        if value < 0 { throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: Envelope.negativeSequence) }
        return value
    }

    static func status<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> DiscoveryResult.Status {
        try c.decode(DiscoveryResult.Status.self, forKey: key)
    }

    static func bytes<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> [UInt8] {
        try decodeBase64(c, key, try c.decode(String.self, forKey: key))
    }

    static func optionalBytes<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> [UInt8]? {
        guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
        return try decodeBase64(c, key, text)
    }

    static func decodeBase64<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K, _ text: String) throws -> [UInt8] {
        switch WireBase64.decode(text) {
        case .success(let bytes): return bytes
        case .failure(let failure):
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "invalid base64 at character \(failure.index + 1): \(failure.message)")
        }
    }
}
