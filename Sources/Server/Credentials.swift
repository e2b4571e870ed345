import AgentProtocol
import Crypto
import Foundation
import Inventory
import Logging
import SQLCore
public import Store
import Synchronization

/// Checks signed requests and enrollments against the database all servers share.
final class Credentials: RequestAuthenticator, RefusalRecorder {
    private let pool: ConnectionPool
    private let serverName: String
    private let logger: Logger
    private let metrics: ServerMetrics
    /// Public keys by node, read again after a minute (a node may enroll again with a new key).
    private let keys = Mutex<[String: (key: Data, read: ContinuousClock.Instant)]>([:])

    init(pool: ConnectionPool, serverName: String, logger: Logger, metrics: ServerMetrics) {
        self.pool = pool
        self.serverName = serverName
        self.logger = logger
        self.metrics = metrics
    }

    /// The checked claim of a request (its node, and the body hash the body must have), or why
    /// it is refused (the refusal is logged and recorded). The body is not needed: its hash is
    /// one of the signed headers.
    func authenticate(
        method: String, path: String, remote: String?, header: (String) -> String?
    ) async throws -> Result<RequestSignature.Claim, SignatureError> {
        let claim: RequestSignature.Claim
        switch RequestSignature.Claim.read(header) {
        case .success(let c): claim = c
        case .failure(let error):
            return try await refuse(error, node: header(RequestSignature.nodeHeader), method: method, path: path, remote: remote)
        }
        guard let key = try await publicKey(of: claim.node) else {
            return try await refuse(.unknownNode(claim.node), node: claim.node, method: method, path: path, remote: remote)
        }
        if let error = claim.verify(method: method, path: path, publicKey: key) {
            return try await refuse(error, node: claim.node, method: method, path: path, remote: remote)
        }
        let server = serverName
        let fresh = try await pool.withConnection { connection in
            try connection.execute(
                """
                WITH fresh AS (
                    INSERT INTO cimdb.request_nonce (node, nonce) VALUES (\(claim.node), \(claim.nonce)) ON CONFLICT DO NOTHING RETURNING 1
                ), seen AS (
                    UPDATE cimdb.node SET last_seen_at = now(), last_server = \(server)
                    WHERE name = \(claim.node) AND EXISTS (SELECT 1 FROM fresh)
                      AND (last_seen_at IS NULL OR last_seen_at < now() - interval '5 seconds' OR last_server IS DISTINCT FROM \(server))
                    RETURNING 1
                )
                SELECT EXISTS (SELECT 1 FROM fresh) AS fresh
                """
            ).first?.bool("fresh") ?? false
        }
        if !fresh {
            return try await refuse(.replayed(nonce: claim.nonce), node: claim.node, method: method, path: path, remote: remote)
        }
        return .success(claim)
    }

    private func publicKey(of node: String) async throws -> Data? {
        if let cached = keys.withLock({ $0[node] }), ContinuousClock.now - cached.read < .seconds(60) { return cached.key }
        let raw = try await pool.withConnection { connection in
            try connection.execute("SELECT public_key FROM cimdb.node_credential WHERE node = \(node)").first?.bytes("public_key")
        }
        guard let raw, raw.count == 32 else { return nil }
        let key = Data(raw)
        keys.withLock { $0[node] = (key, .now) }
        return key
    }

    /// Records a refused request (`cimdb.refused_request` and the log) and returns the failure.
    func refuse<T>(_ error: SignatureError, node: String?, method: String, path: String, remote: String?) async throws -> Result<T, SignatureError> {
        try await recordRefusal(error, node: node, method: method, path: path, remote: remote)
        return .failure(error)
    }

    func recordRefusal(_ error: SignatureError, node: String?, method: String, path: String, remote: String?) async throws {
        try await record(status: 401, reason: error.description, label: error.reason, node: node, method: method, path: path, remote: remote)
    }

    /// Logs a refused request, counts it under `label`, and keeps it in cimdb.refused_request.
    func record(status: Int, reason: String, label: String, node: String?, method: String, path: String, remote: String?) async throws {
        logger.warning("refused \(method) \(path) from \(remote ?? "?") (node \(node ?? "?")) with \(status): \(reason)")
        metrics.refused(reason: label)
        let server = serverName
        try await pool.withConnection { connection in
            try connection.execute(
                """
                INSERT INTO cimdb.refused_request (server, remote, node, method, path, reason, status)
                VALUES (\(server), \(remote), \(node), \(method), \(path), \(reason), \(status))
                """)
        }
    }

    enum EnrollmentRefusal: Error, CustomStringConvertible {
        case invalidToken
        case invalidKey

        var description: String {
            switch self {
            case .invalidToken: "the enrollment token is unknown, used, expired, or for another node"
            case .invalidKey: "the public key is not a 32-byte Ed25519 key in base64"
            }
        }
    }

    /// Exchanges an enrollment token for the node's credential: records the node's public key.
    func enroll(_ request: EnrollRequest, remote: String?) async throws -> Result<Void, EnrollmentRefusal> {
        guard let raw = Data(base64Encoded: request.publicKey), raw.count == 32,
            (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
        else { return .failure(.invalidKey) }
        let hash = Enrollment.hash(token: request.token)
        let accepted = try await pool.withConnection { connection in
            try connection.transaction { connection in
                guard
                    try connection.execute(
                        """
                        UPDATE cimdb.enrollment_token SET used_at = now()
                        WHERE token_hash = \(hash) AND node = \(request.node) AND used_at IS NULL AND expires_at > now() RETURNING node
                        """
                    ).count > 0
                else { return false }
                try connection.execute("INSERT INTO cimdb.node (name) VALUES (\(request.node)) ON CONFLICT DO NOTHING")
                try connection.execute(
                    """
                    INSERT INTO cimdb.node_credential (node, public_key) VALUES (\(request.node), \(Bytea([UInt8](raw))))
                    ON CONFLICT (node) DO UPDATE SET public_key = EXCLUDED.public_key, enrolled_at = now()
                    """)
                return true
            }
        }
        if !accepted {
            try await record(
                status: 403, reason: EnrollmentRefusal.invalidToken.description, label: "enrollment", node: request.node,
                method: "POST", path: "/v1/enroll", remote: remote)
            return .failure(.invalidToken)
        }
        keys.withLock { $0[request.node] = nil }
        logger.info("node \(request.node) enrolled")
        return .success(())
    }
}

extension SignatureError {
    /// A short label for metrics.
    var reason: String {
        switch self {
        case .missing: "missing"
        case .malformed: "malformed"
        case .stale: "stale"
        case .unknownNode: "unknown_node"
        case .badSignature: "bad_signature"
        case .replayed: "replayed"
        case .bodyMismatch: "body_mismatch"
        }
    }
}

/// Enrollment tokens: made by an administrator (`cimdb node enroll NAME`), shown once, stored
/// as their SHA-256.
public enum Enrollment {
    /// Creates a token for `node`, valid for `validity`; returns the token. The token ends in
    /// the site key's fingerprint (`cimdb-SECRET.FINGERPRINT`, AgentProtocol.EnrollmentToken):
    /// the agent accepts the enrollment answer only when it is signed by that key.
    public static func createToken(for node: String, validFor validity: Duration, on connection: Connection) throws -> String {
        let fingerprint = try SiteKeyStore.signing(on: connection).current.public.fingerprint
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let token =
            "cimdb-"
            + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_") + "." + fingerprint
        let seconds = Double(validity.components.seconds)
        try connection.execute(
            """
            INSERT INTO cimdb.enrollment_token (token_hash, node, expires_at) VALUES (\(hash(token: token)), \(node), now() + make_interval(secs => \(seconds)))
            """)
        return token
    }

    static func hash(token: String) -> String {
        Digest.sha256(token.utf8)
    }
}
