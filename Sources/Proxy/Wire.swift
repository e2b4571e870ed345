/// The protocol between a site's `cimdb proxy` and an upstream (`cimdb upstream`, or any service
/// that speaks it): docs/proxy-protocol.md.
///
/// The proxy POSTs batches of messages to `/v1/messages`; the upstream answers 200 only after
/// it has committed what it recorded, listing every message whose life ends (`done`): recorded
/// now, recorded before (a duplicate: redelivery, or a redundant proxy), or dropped with a
/// reason. The proxy deletes exactly those from its queue. Each message carries its unique
/// remote services id, so a redelivered batch is recorded once.
public enum ProxyWire {
    public static let messagesPath = "/v1/messages"

    /// Seed 004's data block header: source, routing, time to transmit, source type.
    public struct Header: Sendable, Hashable, Codable {
        /// The remote services id of the sender: an integrator, or the proxy itself.
        public var source: String
        /// `integrator` or `proxy`.
        public var sourceType: String
        /// Where the upstream routes it: the site, and the support instance when there is one.
        public var routing: String
        /// The time by which it must be transmitted (its TTL's end), ISO 8601 UTC; nil: no limit.
        public var timeToTransmit: String?

        public init(source: String, sourceType: String, routing: String, timeToTransmit: String?) {
            self.source = source
            self.sourceType = sourceType
            self.routing = routing
            self.timeToTransmit = timeToTransmit
        }

        enum CodingKeys: String, CodingKey {
            case source, sourceType = "source_type", routing, timeToTransmit = "time_to_transmit"
        }
    }

    public struct Message: Sendable, Hashable, Codable {
        /// The remote services id of this message.
        public var id: String
        /// event, alarm, data, register-proxy, register-integrator, register-instances,
        /// deregister-instance, heartbeat, request-status.
        public var kind: String
        public var precedence: QoS.Precedence
        public var persistence: QoS.Persistence
        public var header: Header
        public var integrator: String?
        public var instance: String?
        public var eventID: String?
        public var queuedAt: String
        /// The message's own fields, a JSON document (as text: forwarded byte for byte).
        public var body: String

        public init(
            id: String, kind: String, precedence: QoS.Precedence, persistence: QoS.Persistence, header: Header, integrator: String?,
            instance: String?, eventID: String?, queuedAt: String, body: String
        ) {
            self.id = id
            self.kind = kind
            self.precedence = precedence
            self.persistence = persistence
            self.header = header
            self.integrator = integrator
            self.instance = instance
            self.eventID = eventID
            self.queuedAt = queuedAt
            self.body = body
        }

        enum CodingKeys: String, CodingKey {
            case id, kind, precedence, persistence, header, integrator, instance, eventID = "event_id", queuedAt = "queued_at", body
        }
    }

    public struct Batch: Sendable, Hashable, Codable {
        /// The proxy's remote services id.
        public var proxy: String
        /// The site's name (redundant proxies of one site give the same).
        public var site: String
        /// `session` or `message`.
        public var mode: String
        public var messages: [Message]

        public init(proxy: String, site: String, mode: String, messages: [Message]) {
            self.proxy = proxy
            self.site = site
            self.mode = mode
            self.messages = messages
        }
    }

    /// A message the upstream did not record, and why (e.g. from an unregistered integrator).
    public struct Dropped: Sendable, Hashable, Codable {
        public var id: String
        public var reason: String

        public init(id: String, reason: String) {
            self.id = id
            self.reason = reason
        }
    }

    /// A back-channel request (session mode), carried in an answer: for a destination — the
    /// remote services id of an integrator, of a support instance, or of the proxy itself.
    /// The proxy reports what became of it with a `request-status` message (body: request,
    /// status, detail, answer); until the upstream hears of it, it sends it again.
    public struct Request: Sendable, Hashable, Codable {
        /// The request's id (a uuid); the integrator's answer (sendData) carries it.
        public var id: String
        public var destination: String
        /// getStatus, managementAction, getCapabilities or receiveUpdate.
        public var kind: String
        /// managementAction: the XML action; receiveUpdate: the file reference; well-formed XML
        /// when present (the proxy checks).
        public var body: String?

        public init(id: String, destination: String, kind: String, body: String?) {
            self.id = id
            self.destination = destination
            self.kind = kind
            self.body = body
        }

        /// The calls the back channel carries (seed 004's back-channel API).
        public static let kinds: Set<String> = ["getStatus", "managementAction", "getCapabilities", "receiveUpdate"]
    }

    public struct Answer: Sendable, Hashable, Codable {
        /// Every message of the batch whose life ends: recorded, duplicate or dropped.
        public var done: [String]
        /// How many of `done` were recorded before (duplicates).
        public var duplicates: Int
        public var dropped: [Dropped]
        /// Registrations acknowledged with this answer (session mode's back channel).
        public var acknowledgedProxy: Bool
        public var acknowledgedIntegrators: [String]
        /// Back-channel requests for this proxy's integrators (absent: none).
        public var requests: [Request]

        public init(
            done: [String], duplicates: Int, dropped: [Dropped], acknowledgedProxy: Bool, acknowledgedIntegrators: [String],
            requests: [Request] = []
        ) {
            self.done = done
            self.duplicates = duplicates
            self.dropped = dropped
            self.acknowledgedProxy = acknowledgedProxy
            self.acknowledgedIntegrators = acknowledgedIntegrators
            self.requests = requests
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            done = try container.decode([String].self, forKey: .done)
            duplicates = try container.decode(Int.self, forKey: .duplicates)
            dropped = try container.decode([Dropped].self, forKey: .dropped)
            acknowledgedProxy = try container.decode(Bool.self, forKey: .acknowledgedProxy)
            acknowledgedIntegrators = try container.decode([String].self, forKey: .acknowledgedIntegrators)
            requests = try container.decodeIfPresent([Request].self, forKey: .requests) ?? []
        }

        enum CodingKeys: String, CodingKey {
            case done, duplicates, dropped, acknowledgedProxy = "acknowledged_proxy", acknowledgedIntegrators = "acknowledged_integrators",
                requests
        }
    }

    public static let bulkPath = "/v1/bulk"

    /// Asked before a bulk transfer (bulk data, or a message over the proxy's threshold): what
    /// and how much. The answer says okay (and where to send it), deferred (why; the proxy asks
    /// again with a later heartbeat) or rejected (a code and why; the proxy drops it).
    public struct BulkRequest: Sendable, Hashable, Codable {
        public var proxy: String
        public var site: String
        /// The message's id.
        public var id: String
        public var kind: String
        /// The data's class and subclass, for choosing who takes it.
        public var type: String
        public var bytes: Int

        public init(proxy: String, site: String, id: String, kind: String, type: String, bytes: Int) {
            self.proxy = proxy
            self.site = site
            self.id = id
            self.kind = kind
            self.type = type
            self.bytes = bytes
        }
    }

    public struct BulkAnswer: Sendable, Hashable, Codable {
        /// `okay`, `deferred` or `rejected`.
        public var status: String
        /// Where to POST the transfer (a batch of this one message), absolute or relative to the upstream.
        public var url: String?
        public var reason: String?
        /// Why a request or a transfer was rejected, as a code.
        public var code: String?

        public init(status: String, url: String? = nil, reason: String? = nil, code: String? = nil) {
            self.status = status
            self.url = url
            self.reason = reason
            self.code = code
        }
    }
}
