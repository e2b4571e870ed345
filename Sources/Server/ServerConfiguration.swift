/// How a `cimdb server` process runs.
public struct ServerConfiguration: Sendable {
    /// The database every server of the installation shares.
    public var conninfo: String
    public var host: String
    /// 0 picks a free port (printed when listening).
    public var port: Int
    /// How this server names itself in `cimdb.node.last_server` and `cimdb.refused_request`.
    public var name: String
    /// Connections to the database (one is the ingest writer's).
    public var connections: Int
    /// Results applied in one batch at most.
    public var batchSize: Int
    /// Results waiting to be applied at most; beyond it agents are told to come back later
    /// (503 with Retry-After) and keep their results journaled.
    public var queueLimit: Int
    /// The largest request body accepted.
    public var maximumBodyBytes: Int
    /// The largest script output applied (see DiscoveryProcessor.maximumOutputBytes).
    public var maximumOutputBytes: Int
    /// The bearer token `GET /export` requires; nil turns the route off.
    public var exportToken: String?
    /// Serve https with this certificate and key; nil: plain http.
    public var tls: TLS?

    public struct TLS: Sendable {
        public var certificateFile: String
        public var keyFile: String
        public init(certificateFile: String, keyFile: String) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    public init(
        conninfo: String, host: String = "127.0.0.1", port: Int = 7480, name: String? = nil, connections: Int = 4,
        batchSize: Int = 256, queueLimit: Int = 20_000, maximumBodyBytes: Int = 64 << 20,
        maximumOutputBytes: Int = 16 << 20, exportToken: String? = nil, tls: TLS? = nil
    ) {
        self.conninfo = conninfo
        self.host = host
        self.port = port
        self.name = name ?? "\(host):\(port)"
        self.connections = connections
        self.batchSize = batchSize
        self.queueLimit = queueLimit
        self.maximumBodyBytes = maximumBodyBytes
        self.maximumOutputBytes = maximumOutputBytes
        self.exportToken = exportToken
        self.tls = tls
    }
}
