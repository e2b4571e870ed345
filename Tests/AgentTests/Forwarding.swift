import HTTPClient

// The agent's own client, for the tests' checks of servers and the man in the middle.

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
