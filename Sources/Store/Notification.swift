import SQLCore

/// A message from `NOTIFY` (or `pg_notify`) on a channel this connection listens to.
public struct Notification: Sendable, Hashable {
    /// The channel name.
    public var channel: String
    /// The payload; empty when none was given.
    public var payload: String
    /// The process ID of the notifying server backend.
    public var processID: Int32

    /// Makes a notification from its parts.
    public init(channel: String, payload: String, processID: Int32) {
        self.channel = channel
        self.payload = payload
        self.processID = processID
    }
}
