import CLibPQ
import SQLCore

/// What a connection's notice receiver saw. libpq hands an error that arrives while the
/// connection is idle — the `FATAL` of `pg_terminate_backend` or of a server shutdown — to the
/// notice receiver instead of failing the connection; this records it, so the pool can tell
/// the connection is dead before handing it out. Other notices (`NOTICE: … skipping`) are dropped.
final class ServerNotices {
    /// Whether the server announced it is ending the session (severity FATAL or PANIC).
    var sessionTerminated = false

    /// Installs the receiver on `connection`; `self` must outlive the `PGconn`.
    func install(on connection: OpaquePointer) {
        PQsetNoticeReceiver(
            connection,
            { context, result in
                guard let context, let result,
                    let severity = PQresultErrorField(result, Int32(Character("V").asciiValue!))
                else { return }
                let level = String(cString: severity)
                if level == "FATAL" || level == "PANIC" {
                    Unmanaged<ServerNotices>.fromOpaque(context).takeUnretainedValue().sessionTerminated = true
                }
            }, Unmanaged.passUnretained(self).toOpaque())
    }
}
