public import Crypto
public import Foundation
import Inventory

/// How a server signs what it answers an agent, and how the agent checks it (issue "Trust and
/// durability": an agent acts only on answers it can authenticate).
///
/// Every server of a site holds the site key (Ed25519, in `cimdb.site_key`). Every answer on
/// the agents' routes — enrollment, assignments, scripts, result acknowledgements, heartbeats,
/// and the refusals — carries three headers: the signing key (base64 of the raw public key),
/// the signature (base64) over
///
///     cimdb-response/1 LF STATUS LF METHOD LF PATH-WITH-QUERY LF NODE LF REQUEST-NONCE LF
///     NEXT-KEY LF SHA256-HEX(BODY)
///
/// and, while a rotation is announced, the next key. The request's nonce binds the answer to
/// the one request it answers: an answer recorded earlier, or taken from another request, does
/// not verify. The status is signed, so a 200 cannot be made of a 503 or the reverse.
///
/// The agent pins the site key at enrollment: the enrollment token carries the key's
/// fingerprint (`SiteKey.fingerprint`), handed to the node out of band with the token, so the
/// enrollment answer itself is checked. A next key announced in an answer signed by a pinned
/// key is pinned too; once an answer verifies with the newer key, the older ones are dropped.
public enum ResponseSignature {
    public static let keyHeader = "X-Cimdb-Site-Key"
    public static let signatureHeader = "X-Cimdb-Response-Signature"
    public static let nextKeyHeader = "X-Cimdb-Next-Site-Key"

    public static func canonical(
        status: Int, method: String, path: String, node: String, nonce: String, nextKey: String, body: some Sequence<UInt8>
    ) -> [UInt8] {
        var text = "cimdb-response/1\n\(status)\n\(method.uppercased())\n\(path)\n\(node)\n\(nonce)\n\(nextKey)\n"
        text += Digest.sha256(body)
        return Array(text.utf8)
    }

    /// The headers a server adds to an answer.
    public static func sign(
        status: Int, method: String, path: String, node: String, nonce: String, body: [UInt8], key: SiteKey, next: SiteKey.Public?
    ) -> [(name: String, value: String)] {
        let nextText = next?.base64 ?? ""
        let message = canonical(status: status, method: method, path: path, node: node, nonce: nonce, nextKey: nextText, body: body)
        var headers = [(keyHeader, key.public.base64), (signatureHeader, key.sign(message).base64EncodedString())]
        if let next { headers.append((nextKeyHeader, next.base64)) }
        return headers
    }

    /// What a verified answer tells the agent about the keys: the key that signed it, and the
    /// next key announced with it.
    public struct Verified: Sendable, Hashable {
        public var signer: SiteKey.Public
        public var next: SiteKey.Public?
    }

    /// Checks an answer against the keys the agent trusts; `enrolling` is the fingerprint an
    /// enrollment token carries, which admits a key not pinned yet.
    public static func verify(
        status: Int, method: String, path: String, node: String, nonce: String, body: some Sequence<UInt8>,
        header: (String) -> String?, trusted: [SiteKey.Public], enrolling fingerprint: String? = nil
    ) -> Result<Verified, ResponseSignatureError> {
        guard let keyText = header(keyHeader) else { return .failure(.unsigned) }
        guard let signer = SiteKey.Public(base64: keyText) else { return .failure(.malformed(keyHeader)) }
        guard trusted.contains(signer) || (fingerprint != nil && signer.fingerprint == fingerprint) else {
            return .failure(.untrustedKey(signer.fingerprint))
        }
        guard let signatureText = header(signatureHeader), let signature = Data(base64Encoded: signatureText), signature.count == 64 else {
            return .failure(.malformed(signatureHeader))
        }
        let nextText = header(nextKeyHeader) ?? ""
        let next: SiteKey.Public?
        if nextText.isEmpty {
            next = nil
        } else {
            guard let key = SiteKey.Public(base64: nextText) else { return .failure(.malformed(nextKeyHeader)) }
            next = key
        }
        let message = canonical(status: status, method: method, path: path, node: node, nonce: nonce, nextKey: nextText, body: body)
        guard signer.isValidSignature(signature, for: message) else { return .failure(.badSignature) }
        return .success(Verified(signer: signer, next: next))
    }

    /// The keys to trust after a verified answer: the announced next key is added; keys older
    /// than the signer are dropped (the site has moved on to the signer).
    public static func keyring(_ trusted: [SiteKey.Public], after verified: Verified) -> [SiteKey.Public] {
        var keys = trusted
        if !keys.contains(verified.signer) { keys.append(verified.signer) }
        if let index = keys.firstIndex(of: verified.signer) { keys.removeFirst(index) }
        if let next = verified.next, !keys.contains(next) { keys.append(next) }
        return keys
    }
}

/// Why an answer was not accepted (logged by the agent; the answer counts as none).
public enum ResponseSignatureError: Error, Sendable, Hashable, CustomStringConvertible {
    case unsigned
    case malformed(String)
    case untrustedKey(String)
    case badSignature

    public var description: String {
        switch self {
        case .unsigned: "the answer is not signed with the site key"
        case .malformed(let header): "malformed header \(header)"
        case .untrustedKey(let fingerprint): "the answer is signed by key \(fingerprint), which this agent does not trust"
        case .badSignature: "the answer's signature does not match it (changed on the way, or meant for another request)"
        }
    }
}

/// An Ed25519 site key (the private half stays with the servers).
public struct SiteKey: Sendable {
    private var rawKey: Data

    public init(_ key: Curve25519.Signing.PrivateKey = .init()) { rawKey = key.rawRepresentation }

    public init?(raw: some Sequence<UInt8>) {
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: Data(raw)) else { return nil }
        self.init(key)
    }

    public var raw: [UInt8] { [UInt8](rawKey) }

    private var key: Curve25519.Signing.PrivateKey {
        // rawKey always comes from a valid key (both initializers).
        try! Curve25519.Signing.PrivateKey(rawRepresentation: rawKey)
    }

    public var `public`: Public { Public(key.publicKey.rawRepresentation)! }

    public func sign(_ message: [UInt8]) -> Data {
        // Ed25519 signing does not fail for a valid key.
        (try? key.signature(for: message)) ?? Data()
    }

    /// The public half: what agents pin.
    public struct Public: Sendable, Hashable {
        public let raw: Data

        public init?(_ raw: Data) {
            guard raw.count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil else { return nil }
            self.raw = raw
        }

        public init?(base64: String) {
            guard let raw = Data(base64Encoded: base64) else { return nil }
            self.init(raw)
        }

        public var base64: String { raw.base64EncodedString() }

        /// The first 16 bytes of the key's SHA-256, hex: what an enrollment token carries.
        public var fingerprint: String { String(Digest.sha256(raw).prefix(32)) }

        public func isValidSignature(_ signature: Data, for message: [UInt8]) -> Bool {
            guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
            return key.isValidSignature(signature, for: message)
        }
    }
}

/// An enrollment token: a random secret and, after the last `.`, the fingerprint of the site
/// key the agent must find on the enrollment answer (`cimdb-SECRET.FINGERPRINT`).
public enum EnrollmentToken {
    /// The site key fingerprint a token carries; nil when it carries none (a token from before
    /// answers were signed, or mistyped).
    public static func fingerprint(of token: String) -> String? {
        guard let dot = token.lastIndex(of: ".") else { return nil }
        let fingerprint = token[token.index(after: dot)...]
        guard Digest.isHex(fingerprint, length: 32) else {
            return nil
        }
        return String(fingerprint)
    }
}
