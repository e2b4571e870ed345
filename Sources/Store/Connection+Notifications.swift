import CLibPQ
public import SQLCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension Connection {
    /// Starts listening on `channel` (`LISTEN`, the name quoted as an identifier, so any text is safe).
    public func listen(_ channel: String) throws(PostgresError) {
        try execute("LISTEN \(identifier: channel)")
    }

    /// Stops listening on `channel`.
    public func unlisten(_ channel: String) throws(PostgresError) {
        try execute("UNLISTEN \(identifier: channel)")
    }

    /// Sends `payload` on `channel` (`pg_notify`, the channel and payload bound as values). Inside a transaction it is delivered
    /// at commit.
    public func notify(_ channel: String, payload: String) throws(PostgresError) {
        try execute("SELECT pg_notify(\(channel), \(payload))")
    }

    /// The notifications that arrived, waiting up to `timeout` for the first one (waits on the
    /// connection's socket with `poll()`, then reads with `PQconsumeInput`/`PQnotifies`).
    /// Returns an empty array when none came in time; a zero timeout only looks.
    public func notifications(timeout: Duration) throws(PostgresError) -> [Notification] {
        let handle = try openHandle()
        let deadline = ContinuousClock.now.advanced(by: timeout)
        try consumeInput(handle)
        var received = takeNotifications(handle)
        while received.isEmpty {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { break }
            let milliseconds = min(
                Int32.max,
                Int32(
                    clamping: remaining.components.seconds * 1000
                        + remaining.components.attoseconds / 1_000_000_000_000_000 + 1))
            guard try waitReadable(handle, milliseconds: milliseconds) else { continue }
            try consumeInput(handle)
            received = takeNotifications(handle)
        }
        return received
    }

    /// Reads whatever the server sent without blocking; a failure means the connection broke.
    func consumeInput(_ handle: OpaquePointer) throws(PostgresError) {
        if PQconsumeInput(handle) == 0 {
            throw PostgresError(connection: handle, kind: .connection)
        }
    }

    /// Waits until the connection's socket is readable or `milliseconds` pass; `false` on timeout.
    func waitReadable(_ handle: OpaquePointer, milliseconds: Int32) throws(PostgresError) -> Bool {
        let socket = PQsocket(handle)
        guard socket >= 0 else {
            throw PostgresError(kind: .connection, message: "the connection has no socket")
        }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&descriptor, 1, milliseconds)
            if ready >= 0 { return ready > 0 }
            if errno != EINTR {
                throw PostgresError(kind: .connection, message: "poll() on the connection failed: errno \(errno)")
            }
        }
    }

    private func takeNotifications(_ handle: OpaquePointer) -> [Notification] {
        var received: [Notification] = []
        while let notify = PQnotifies(handle) {
            received.append(
                Notification(
                    channel: String(cString: notify.pointee.relname),
                    payload: notify.pointee.extra.map { String(cString: $0) } ?? "",
                    processID: notify.pointee.be_pid))
            PQfreemem(notify)
        }
        return received
    }
}
