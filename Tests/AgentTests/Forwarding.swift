import HTTPClient

// Kept apart from ManInTheMiddle.swift: HTTPClient and HTTPTypes both name HTTPRequest.

/// An answer forwarded by the man in the middle.
struct Forwarded: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
}

/// Sends a request to `upstream` with the agent's own client.
func forward(
    _ method: String, _ path: String, headers: [(name: String, value: String)], body: [UInt8], to upstream: String
) async throws
    -> Forwarded
{
    var fields = HTTPHeaders()
    for (name, value) in headers { fields.add(name, value) }
    let answer = try await HTTPClient(connectTimeout: .seconds(3), timeout: .seconds(20)).send(
        HTTPRequest(method: method, target: path, headers: fields, body: body), to: upstream)
    return Forwarded(status: answer.status, headers: answer.headers.map { ($0.name, $0.value) }, body: answer.body)
}

/// Whether anything answers HTTP at `url`.
func answersHTTP(_ url: String) async -> Bool {
    (try? await HTTPClient(connectTimeout: .seconds(1), timeout: .seconds(2)).send(HTTPRequest(method: "GET", target: "/health"), to: url)) != nil
}

/// The status of `GET /health` over https, verified against `caFile`; nil when nothing answers.
func httpsHealth(_ url: String, caFile: String) async -> Int? {
    guard let tls = try? TLSContext(caFile: caFile) else { return nil }
    return try? await HTTPClient(connectTimeout: .seconds(1), timeout: .seconds(2), tls: tls).send(
        HTTPRequest(method: "GET", target: "/health"), to: url
    )
    .status
}
