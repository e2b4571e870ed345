public import AgentProtocol
import Foundation
import SQLCore
public import Store
import Synchronization

/// The site key in `cimdb.site_key` (migration 0008): the key every server signs its answers to
/// agents with, and the next one while a rotation is announced. Read again every 10 seconds,
/// so a rotation reaches every server of the site within that.
final class SiteKeys: Sendable {
    private let pool: ConnectionPool
    private let cache = Mutex<(keys: SiteKeyStore.Signing, read: ContinuousClock.Instant)?>(nil)

    init(pool: ConnectionPool) { self.pool = pool }

    /// The key to sign with and the next one to announce; made when the site has none yet.
    /// While the database does not answer, the keys last read: the server's 503s ("keep the
    /// results, come back in 5 s") are signed too, and agents act on them.
    func signing() async throws -> SiteKeyStore.Signing {
        let cached = cache.withLock { $0 }
        if let cached, ContinuousClock.now - cached.read < .seconds(10) { return cached.keys }
        do {
            let keys = try await pool.withConnection { try SiteKeyStore.signing(on: $0) }
            cache.withLock { $0 = (keys, .now) }
            return keys
        } catch let error as PostgresError where error.kind == .connection {
            guard let cached else { throw error }
            return cached.keys
        }
    }
}

/// Reading and changing the site key (servers, `cimdb node enroll`, `cimdb site-key`).
public enum SiteKeyStore {
    public struct Signing: Sendable {
        public var current: SiteKey
        public var next: SiteKey.Public?
    }

    /// A row of `cimdb.site_key` without the private half.
    public struct Info: Sendable {
        public var fingerprint: String
        public var publicKey: String
        public var state: String
        public var createdAt: String
        public var activatedAt: String?
        public var retiredAt: String?
    }

    public enum Failure: Error, CustomStringConvertible {
        case rotationPending(String)
        case noRotation
        case unreadable

        public var description: String {
            switch self {
            case .rotationPending(let fingerprint):
                "a rotation is already announced (next key \(fingerprint)); finish it first (cimdb site-key finish)"
            case .noRotation: "no rotation is announced; start one with cimdb site-key rotate"
            case .unreadable: "cimdb.site_key holds a key that is not a 32-byte Ed25519 key"
            }
        }
    }

    /// The current key (made, and stored, when there is none) and the announced next one.
    public static func signing(on connection: Connection) throws -> Signing {
        var rows = try keys(on: connection)
        if rows.current == nil {
            let key = SiteKey()
            // Two servers starting together: one insert wins, the other reads its key.
            try connection.execute(
                """
                INSERT INTO cimdb.site_key (private_key, public_key, fingerprint, state, activated_at)
                VALUES (\(Bytea(key.raw)), \(Bytea([UInt8](key.public.raw))), \(key.public.fingerprint), 'current', now())
                ON CONFLICT (state) WHERE state IN ('current', 'next') DO NOTHING
                """)
            rows = try keys(on: connection)
        }
        guard let current = rows.current else { throw Failure.unreadable }
        return Signing(current: current, next: rows.next?.public)
    }

    private static func keys(on connection: Connection) throws -> (current: SiteKey?, next: SiteKey?) {
        var current: SiteKey?
        var next: SiteKey?
        for row in try connection.execute("SELECT private_key, state FROM cimdb.site_key WHERE state IN ('current', 'next')") {
            guard let raw = row.bytes("private_key"), let key = SiteKey(raw: raw) else { throw Failure.unreadable }
            if row["state"] == "current" { current = key } else { next = key }
        }
        return (current, next)
    }

    /// Announces a new key: servers go on signing with the current one and name the new one
    /// in every answer; agents that verify such an answer trust both.
    @discardableResult
    public static func rotate(on connection: Connection) throws -> SiteKey.Public {
        try connection.transaction { connection in
            _ = try signing(on: connection)
            if let pending = try keys(on: connection).next { throw Failure.rotationPending(pending.public.fingerprint) }
            let key = SiteKey()
            try connection.execute(
                """
                INSERT INTO cimdb.site_key (private_key, public_key, fingerprint, state)
                VALUES (\(Bytea(key.raw)), \(Bytea([UInt8](key.public.raw))), \(key.public.fingerprint), 'next')
                """)
            return key.public
        }
    }

    /// Makes the announced key current: servers sign with it (within 10 s); agents drop the old
    /// key at the first answer signed with the new one.
    @discardableResult
    public static func finish(on connection: Connection) throws -> SiteKey.Public {
        try connection.transaction { connection in
            guard let next = try keys(on: connection).next else { throw Failure.noRotation }
            try connection.execute("UPDATE cimdb.site_key SET state = 'retired', retired_at = now() WHERE state = 'current'")
            try connection.execute("UPDATE cimdb.site_key SET state = 'current', activated_at = now() WHERE state = 'next'")
            return next.public
        }
    }

    /// Every key, newest first.
    public static func list(on connection: Connection) throws -> [Info] {
        try connection.execute(
            """
            SELECT fingerprint, encode(public_key, 'base64') AS public_key, state, created_at::text AS created_at,
                   activated_at::text AS activated_at, retired_at::text AS retired_at
            FROM cimdb.site_key ORDER BY id DESC
            """
        ).map { row in
            Info(
                fingerprint: row["fingerprint"] ?? "", publicKey: row["public_key"] ?? "", state: row["state"] ?? "",
                createdAt: row["created_at"] ?? "", activatedAt: row["activated_at"], retiredAt: row["retired_at"])
        }
    }
}
