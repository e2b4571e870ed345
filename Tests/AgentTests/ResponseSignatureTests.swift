import AgentProtocol
import Foundation
import Testing

@Suite("signed answers: bound to their request, pinned keys, rotation")
struct ResponseSignatureTests {
    let site = SiteKey()
    let body = Array(#"{"assignmentsVersion":"abc"}"#.utf8)

    func headers(_ list: [(name: String, value: String)]) -> (String) -> String? {
        { name in list.first { $0.name == name }?.value }
    }

    func signed(status: Int = 200, nonce: String = "n1", key: SiteKey? = nil, next: SiteKey.Public? = nil) -> (String) -> String? {
        headers(
            ResponseSignature.sign(
                status: status, method: "POST", path: "/v1/heartbeat", node: "node1", nonce: nonce, body: body, key: key ?? site, next: next))
    }

    func verify(
        _ header: (String) -> String?, status: Int = 200, nonce: String = "n1", body: [UInt8]? = nil, trusted: [SiteKey.Public]? = nil,
        enrolling: String? = nil
    ) -> Result<ResponseSignature.Verified, ResponseSignatureError> {
        ResponseSignature.verify(
            status: status, method: "POST", path: "/v1/heartbeat", node: "node1", nonce: nonce, body: body ?? self.body, header: header,
            trusted: trusted ?? [site.public], enrolling: enrolling)
    }

    @Test("an answer verifies for its request only: another nonce, status, body or key does not")
    func boundToTheRequest() {
        #expect((try? verify(signed()).get())?.signer == site.public)
        #expect(verify(signed(), nonce: "n2") == .failure(.badSignature))
        #expect(verify(signed(), status: 503) == .failure(.badSignature))
        #expect(verify(signed(), body: body + [0x20]) == .failure(.badSignature))
        let stranger = SiteKey()
        #expect(verify(signed(key: stranger)) == .failure(.untrustedKey(stranger.public.fingerprint)))
        #expect(verify({ _ in nil }) == .failure(.unsigned))
        // A stranger's key with the trusted key's name on it: the signature does not match.
        let forged = ResponseSignature.sign(
            status: 200, method: "POST", path: "/v1/heartbeat", node: "node1", nonce: "n1", body: body, key: stranger, next: nil)
        let relabelled = forged.map { $0.name == ResponseSignature.keyHeader ? ($0.name, site.public.base64) : $0 }
        #expect(verify(headers(relabelled)) == .failure(.badSignature))
    }

    @Test("enrollment admits the key whose fingerprint the token carries, and no other")
    func enrollmentPinsTheFingerprint() {
        #expect((try? verify(signed(), trusted: [], enrolling: site.public.fingerprint).get())?.signer == site.public)
        #expect(verify(signed(), trusted: [], enrolling: SiteKey().public.fingerprint) == .failure(.untrustedKey(site.public.fingerprint)))
        let token = "cimdb-abc.\(site.public.fingerprint)"
        #expect(EnrollmentToken.fingerprint(of: token) == site.public.fingerprint)
        #expect(EnrollmentToken.fingerprint(of: "cimdb-abc") == nil)
        #expect(EnrollmentToken.fingerprint(of: "cimdb-abc.XYZ") == nil)
    }

    @Test("rotation: a next key announced under the pinned one is trusted, and the old one dropped once the new one signs")
    func rotation() throws {
        let next = SiteKey()
        // The announcement is part of what is signed: it cannot be added or changed on the way.
        var announced = try verify(signed(next: next.public)).get()
        #expect(announced.next == next.public)
        let stripped = ResponseSignature.sign(
            status: 200, method: "POST", path: "/v1/heartbeat", node: "node1", nonce: "n1", body: body, key: site, next: nil)
        let injected = stripped + [(ResponseSignature.nextKeyHeader, SiteKey().public.base64)]
        #expect(verify(headers(injected)) == .failure(.badSignature))

        var keys = ResponseSignature.keyring([site.public], after: announced)
        #expect(keys == [site.public, next.public])
        // Both verify during the rotation.
        announced = try verify(signed(key: next), trusted: keys).get()
        keys = ResponseSignature.keyring(keys, after: announced)
        #expect(keys == [next.public])
        #expect(verify(signed(), trusted: keys) == .failure(.untrustedKey(site.public.fingerprint)))
    }
}
