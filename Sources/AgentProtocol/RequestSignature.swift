public import Crypto
public import Foundation
import Inventory

/// How an agent signs its requests and a server checks them (SPEC §6 last point: requests
/// between server and agents are authenticated and tamper-evident).
///
/// Every request after enrollment carries five headers: the node, a timestamp (Unix
/// milliseconds), a nonce (16 random bytes, hex), the body's SHA-256 (hex) and an Ed25519
/// signature (base64) over
///
///     cimdb-request/1 LF METHOD LF PATH-WITH-QUERY LF NODE LF TIMESTAMP LF NONCE LF SHA256-HEX(BODY)
///
/// with the node's private key; the server holds only the public key it received at
/// enrollment. A changed byte anywhere (body, path, node, timestamp) breaks the signature; a
/// timestamp outside the allowed skew is refused; a nonce seen before is a replay (servers
/// record nonces in the shared database, so a request replayed against another server is
/// refused too).
///
/// The body's hash travels as a header so that a server checks the signature before it reads
/// the body: an unsigned body is never read beyond a small limit (the server then checks that
/// the body it reads has the signed hash).
public enum RequestSignature {
    public static let nodeHeader = "X-Cimdb-Node"
    public static let timestampHeader = "X-Cimdb-Timestamp"
    public static let nonceHeader = "X-Cimdb-Nonce"
    public static let signatureHeader = "X-Cimdb-Signature"
    public static let contentHashHeader = "X-Cimdb-Content-SHA256"

    /// How far a request's timestamp may be from the server's clock.
    public static let allowedSkewMilliseconds: Int64 = 5 * 60 * 1000

    /// The bytes that are signed.
    public static func canonical(method: String, path: String, node: String, timestamp: Int64, nonce: String, bodyHash: String) -> [UInt8] {
        Array("cimdb-request/1\n\(method.uppercased())\n\(path)\n\(node)\n\(timestamp)\n\(nonce)\n\(bodyHash)".utf8)
    }

    /// The four headers for a request.
    public static func sign(
        method: String, path: String, body: [UInt8], identity: NodeIdentity,
        timestamp: Int64 = currentMilliseconds(), nonce: String = randomNonce()
    ) -> [(name: String, value: String)] {
        let bodyHash = Digest.sha256(body)
        let message = canonical(method: method, path: path, node: identity.node, timestamp: timestamp, nonce: nonce, bodyHash: bodyHash)
        let signature = (try? identity.privateKey.signature(for: message)).map { Data($0).base64EncodedString() } ?? ""
        return [
            (nodeHeader, identity.node), (timestampHeader, String(timestamp)),
            (nonceHeader, nonce), (contentHashHeader, bodyHash), (signatureHeader, signature),
        ]
    }

    /// The signed parts of a request, as read from its headers.
    public struct Claim: Sendable, Hashable {
        public var node: String
        public var timestamp: Int64
        public var nonce: String
        /// The SHA-256 (hex) of the body the request says it carries.
        public var bodyHash: String
        public var signature: Data

        public init(node: String, timestamp: Int64, nonce: String, bodyHash: String, signature: Data) {
            self.node = node
            self.timestamp = timestamp
            self.nonce = nonce
            self.bodyHash = bodyHash
            self.signature = signature
        }

        /// Reads the headers; nil names what is missing or malformed.
        public static func read(_ header: (String) -> String?) -> Result<Claim, SignatureError> {
            guard let node = header(nodeHeader), !node.isEmpty else { return .failure(.missing(nodeHeader)) }
            guard let stamp = header(timestampHeader) else { return .failure(.missing(timestampHeader)) }
            guard let timestamp = Int64(stamp) else { return .failure(.malformed(timestampHeader)) }
            guard let nonce = header(nonceHeader) else { return .failure(.missing(nonceHeader)) }
            guard Digest.isHex(nonce, length: 32) else { return .failure(.malformed(nonceHeader)) }
            guard let bodyHash = header(contentHashHeader) else { return .failure(.missing(contentHashHeader)) }
            guard Digest.isHex(bodyHash, length: 64) else { return .failure(.malformed(contentHashHeader)) }
            guard let text = header(signatureHeader) else { return .failure(.missing(signatureHeader)) }
            guard let signature = Data(base64Encoded: text), signature.count == 64 else { return .failure(.malformed(signatureHeader)) }
            return .success(Claim(node: node, timestamp: timestamp, nonce: nonce, bodyHash: bodyHash, signature: signature))
        }

        /// Checks the timestamp against `now` and the signature with the node's public key —
        /// before the body is read: the body's hash is one of the signed headers.
        public func verify(method: String, path: String, publicKey rawKey: Data, now: Int64 = currentMilliseconds()) -> SignatureError? {
            // Any Int64 may arrive: the difference is taken without overflow.
            let (skew, overflow) = now.subtractingReportingOverflow(timestamp)
            if overflow || skew > allowedSkewMilliseconds || skew < -allowedSkewMilliseconds {
                return .stale(skewMilliseconds: overflow ? (timestamp < 0 ? .max : .min) : skew)
            }
            guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: rawKey) else { return .badSignature }
            let message = canonical(method: method, path: path, node: node, timestamp: timestamp, nonce: nonce, bodyHash: bodyHash)
            return publicKey.isValidSignature(signature, for: message) ? nil : .badSignature
        }

        /// Whether a body read after the signature was checked is the one that was signed.
        public func matches(body: some Sequence<UInt8>) -> Bool { Digest.sha256(body) == bodyHash }
    }

    public static func currentMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    public static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Digest.hex((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

}

/// Why a request's signature was not accepted (logged by the server, answered with 401).
public enum SignatureError: Error, Sendable, Hashable, CustomStringConvertible {
    case missing(String)
    case malformed(String)
    case stale(skewMilliseconds: Int64)
    case unknownNode(String)
    case badSignature
    case replayed(nonce: String)
    /// The body read is not the one whose hash was signed.
    case bodyMismatch

    public var description: String {
        switch self {
        case .missing(let header): "missing header \(header)"
        case .malformed(let header): "malformed header \(header)"
        case .stale(let skew): "timestamp \(skew) ms away from the server's clock (allowed ±\(RequestSignature.allowedSkewMilliseconds) ms)"
        case .unknownNode(let node): "node \(node) is not enrolled"
        case .badSignature: "signature does not match the request (tampered, or signed with another key)"
        case .replayed(let nonce): "nonce \(nonce) was used before (replayed request)"
        case .bodyMismatch: "the body does not have the signed SHA-256 (changed on the way)"
        }
    }
}

/// A node's name and its signing key: the per-node credential an agent receives for its
/// enrollment token. The agent keeps it in its state directory (mode 0600).
public struct NodeIdentity: Sendable {
    public var node: String
    /// The raw 32-byte private key (the key type itself is not Sendable).
    private var rawKey: Data

    public init(node: String, privateKey: Curve25519.Signing.PrivateKey = .init()) {
        self.node = node
        self.rawKey = privateKey.rawRepresentation
    }

    public var privateKey: Curve25519.Signing.PrivateKey {
        // rawKey always comes from a valid key (init, or checked by init(fileContents:)).
        try! Curve25519.Signing.PrivateKey(rawRepresentation: rawKey)
    }

    /// `node` LF base64(raw private key) LF: the identity file's contents.
    public var fileContents: String { "\(node)\n\(privateKey.rawRepresentation.base64EncodedString())\n" }

    public init?(fileContents: String) {
        let lines = fileContents.split(separator: "\n").map(String.init)
        guard lines.count >= 2, let raw = Data(base64Encoded: lines[1]),
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else { return nil }
        self.init(node: lines[0], privateKey: key)
    }

    public var publicKeyBase64: String { privateKey.publicKey.rawRepresentation.base64EncodedString() }
}
