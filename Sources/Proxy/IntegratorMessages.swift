import Foundation

/// What integrators send (seed 004's sendEvent, sendAlarm and sendData), as the JSON body of
/// a queued message. Times are UTC, ISO 8601. Data is carried as text when it is UTF-8 and
/// base64 otherwise (`encoding`).
public enum IntegratorMessage {
    public struct Event: Sendable, Hashable, Codable {
        public var instance: String
        public var time: String
        public var type: String
        public var eventID: String
        public var severity: String
        public var state: String
        public var text: String
        public var data: Payload?

        public init(
            instance: String, time: String, type: String, eventID: String, severity: String, state: String, text: String, data: Payload? = nil
        ) {
            self.instance = instance
            self.time = time
            self.type = type
            self.eventID = eventID
            self.severity = severity
            self.state = state
            self.text = text
            self.data = data
        }

        enum CodingKeys: String, CodingKey {
            case instance, time, type, eventID = "event_id", severity, state, text, data
        }
    }

    public struct Alarm: Sendable, Hashable, Codable {
        public var instance: String
        public var time: String
        public var type: String
        public var severity: String
        public var text: String
        public var data: Payload?

        public init(instance: String, time: String, type: String, severity: String, text: String, data: Payload? = nil) {
            self.instance = instance
            self.time = time
            self.type = type
            self.severity = severity
            self.text = text
            self.data = data
        }
    }

    public struct Data: Sendable, Hashable, Codable {
        public var instance: String
        public var `class`: String
        public var subclass: String
        /// The back-channel request this answers (managementAction), if any.
        public var requestID: String?
        public var data: Payload

        public init(instance: String, class: String, subclass: String, requestID: String? = nil, data: Payload) {
            self.instance = instance
            self.class = `class`
            self.subclass = subclass
            self.requestID = requestID
            self.data = data
        }

        enum CodingKeys: String, CodingKey {
            case instance, `class`, subclass, requestID = "request_id", data
        }
    }

    /// Opaque bytes with their MIME type.
    public struct Payload: Sendable, Hashable, Codable {
        public var mime: String
        /// `utf-8` or `base64`.
        public var encoding: String
        public var content: String
        public var length: Int

        public init(mime: String, bytes: [UInt8]) {
            self.mime = mime
            self.length = bytes.count
            if let text = String(validating: bytes, as: UTF8.self) {
                encoding = "utf-8"
                content = text
            } else {
                encoding = "base64"
                content = Foundation.Data(bytes).base64EncodedString()
            }
        }
    }

    /// The severities sendEvent and sendAlarm take (CIM's PerceivedSeverity names).
    public static let severities = ["unknown", "information", "degraded", "minor", "major", "critical", "fatal"]
    /// A back-channel request as its integrator takes it (`cimdb proxy requests`, `GET
    /// /v1/requests`): the upstream's call, routed here by its destination.
    public struct Request: Sendable, Hashable, Codable {
        public var id: String
        /// getStatus, managementAction, getCapabilities or receiveUpdate.
        public var kind: String
        /// The remote services id it was sent to: the integrator's, or a support instance's.
        public var destination: String
        /// The support instance it is for (nil: the integrator itself).
        public var instance: String?
        /// managementAction: the XML action (its id, name, parameters); receiveUpdate: the file
        /// reference. Well-formed XML: the proxy checked it.
        public var body: String?
        /// When the proxy received it, ISO 8601 UTC.
        public var receivedAt: String

        public init(id: String, kind: String, destination: String, instance: String?, body: String?, receivedAt: String) {
            self.id = id
            self.kind = kind
            self.destination = destination
            self.instance = instance
            self.body = body
            self.receivedAt = receivedAt
        }

        enum CodingKeys: String, CodingKey {
            case id, kind, destination, instance, body, receivedAt = "received_at"
        }
    }
}
