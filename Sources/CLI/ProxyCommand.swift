import ArgumentParser
import CommandSupport
import Foundation
import Logging
import Proxy
import ProxyFeed
import ProxyService
import SQLCore
import Store

/// `cimdb proxy`: the remote-services proxy — its forwarder, and the integrator calls for scripts.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Queue events, alarms and data for an external service, and forward them (persistent, prioritized, throttled).",
        discussion: """
            Integrators (a monitoring system, a script) register, register their support \
            instances, and send events, alarms and data, each with a quality of service: \
            precedence urgent, normal or bulk (higher first, FIFO within one), a TTL (never \
            forwarded after it), persistence normal or high (high is never discarded to make \
            room). The queue is in the database; a call returns once its message is durably \
            queued. When a message does not fit (cimdb proxy limits --total-bytes), the oldest \
            expired message goes first, then the oldest bulk one of normal persistence; a new bulk \
            message is then discarded; for a new urgent one the oldest normal one of normal \
            persistence goes; otherwise the new message is rejected (exit 2). Every discard is a \
            row (report.proxy_discards). `cimdb proxy run` forwards to an upstream (cimdb \
            upstream, docs/proxy-protocol.md) and ends each message's life on its acknowledgement.

            Exit status of the integrator calls: 0 success, 1 bad parameters (the seed's −1; also \
            an integrator not acknowledged yet), 2 infrastructure (−2: the queue is full, no database).

            Examples:
              cimdb proxy run --upstream http://collector:7490 --site rack-a
              H=$(cimdb proxy register nagios-bridge 1.2)
              cimdb proxy instance add --handle $H node17 --capabilities caps.xml
              cimdb proxy send-event --handle $H --instance node17 --type disk --event-id e-991 \\
                  --severity major --state opened --text 'sdb: 12 reallocated sectors' --precedence urgent
              cimdb proxy send-data --handle $H --instance node17 --class inventory --subclass dmi \\
                  --file dmi.xml --mime application/xml --precedence bulk --ttl 1d
              cimdb proxy requests --handle $H --wait 60s     # the back channel: one JSON line each
              cimdb proxy send-data --handle $H --instance node17 --class answer --subclass collect \\
                  --file out.xml --mime application/xml --request-id REQUEST
              cimdb proxy limits --total-bytes 100000000 --bytes-per-period 5000000 --period 1h
              cimdb proxy stop; cimdb proxy queue; cimdb proxy start
            """,
        subcommands: [
            Run.self, Register.self, Instance.self, SendEvent.self, SendAlarm.self, SendData.self, Requests.self, Feed.self, Stop.self,
            Start.self, Limits.self, Queue.self,
        ]
    )

    /// `--precedence`, `--ttl`, `--persistence`.
    struct QoSOptions: ParsableArguments {
        @Option(help: "urgent, normal or bulk.")
        var precedence = "normal"

        @Option(help: ArgumentHelp("How long it may wait to be sent: 90s, 15m, 2h, 7d (default: no limit).", valueName: "duration"))
        var ttl: String?

        @Option(help: "normal (may be discarded to make room) or high (only when expired).")
        var persistence = "normal"

        func validate() throws {
            guard QoS.Precedence(rawValue: precedence) != nil else { throw ValidationError("--precedence \(precedence): urgent, normal or bulk") }
            guard QoS.Persistence(rawValue: persistence) != nil else { throw ValidationError("--persistence \(persistence): normal or high") }
            if let ttl, DurationText.seconds(ttl) == nil { throw ValidationError("--ttl \(ttl): expected a positive duration like 90s, 15m, 2h, 7d") }
        }

        var qos: QoS {
            QoS(
                precedence: QoS.Precedence(rawValue: precedence) ?? .normal, ttlSeconds: ttl.flatMap(DurationText.seconds),
                persistence: QoS.Persistence(rawValue: persistence) ?? .normal)
        }
    }

    /// Runs an integrator call; its failures become the seed's −1/−2 as exit status 1/2.
    static func call<T>(_ body: () throws(ProxyQueries.Failure) -> T) throws -> T {
        do {
            return try body()
        } catch {
            Output.error("cimdb proxy: \(error.description)")
            throw ExitCode(error.code == -1 ? 1 : 2)
        }
    }

    /// The site's database; none is an infrastructure problem (the seed's −2: exit 2), not bad
    /// parameters — a script tells "try again later" from "fix the call".
    static func connect(_ database: DatabaseOptions) async throws -> Connection {
        do {
            return try await database.connect(quiet: true)
        } catch let failure as CommandFailure {
            Output.error("cimdb proxy: \(failure.description)")
            throw ExitCode(2)
        }
    }

    static func report(_ outcome: ProxyQueries.Outcome) throws {
        switch outcome.outcome {
        case "queued":
            print(outcome.messageID ?? "")
            if let detail = outcome.detail { Output.error("queued; \(detail)") }
        case "rejected":
            Output.error("cimdb proxy: rejected: \(outcome.detail ?? "the queue is full")")
            throw ExitCode(2)
        default:
            Output.error("\(outcome.outcome): \(outcome.detail ?? "")")
        }
    }

    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read \(path)") }
        return Array(data)
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forward the queue to an upstream: batches by precedence, acknowledged before removal, retried with backoff.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The upstream's base URL.", valueName: "url"))
        var upstream: String

        @Option(help: ArgumentHelp("The site's name, sent with every batch (redundant proxies of a site give the same).", valueName: "name"))
        var site: String = ProcessInfo.processInfo.hostName

        @Option(help: ArgumentHelp("A file holding the upstream's bearer token (mode 0600).", valueName: "file"))
        var tokenFile: String?

        @Option(help: "Messages per batch at most (urgent ones go in batches of their own).")
        var batch = 200

        @Option(help: ArgumentHelp("Serve the integrator API (HTTP, bearer tokens) here, e.g. 127.0.0.1:7491.", valueName: "host:port"))
        var listen: String?

        @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
        var logLevel = "info"

        func validate() throws {
            guard upstream.hasPrefix("http://") || upstream.hasPrefix("https://") else {
                throw ValidationError("--upstream \(upstream): expected http://HOST:PORT")
            }
            guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
            if let listen, HostPort(listen) == nil { throw ValidationError("--listen \(listen): expected HOST:PORT") }
            guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        }

        func run() async throws {
            try await reportingErrors {
                let token = try tokenFile.map { try TokenFile.read($0) }
                let conninfo = try await database.conninfo()
                let logger = LogSetup.make("cimdb.proxy", level: logLevel)
                let configuration = Forwarder.Configuration(upstream: upstream, conninfo: conninfo, site: site, token: token, batchSize: batch)
                logger.info("proxy: forwarding to \(upstream) as site \(site)")
                let forwarder = Forwarder(configuration: configuration, logger: logger)
                let feed = InventoryFeed(conninfo: conninfo, site: site, version: cimdbVersion, logger: logger)
                if let listen {
                    // The HTTP server ends on SIGINT/SIGTERM (Hummingbird's service lifecycle); the forwarder follows.
                    let address = HostPort(listen)!
                    let api = IntegratorAPI(conninfo: conninfo, host: address.host, port: address.port, logger: logger)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { await forwarder.run() }
                        group.addTask { await feed.run() }
                        group.addTask {
                            try await api.run { port in
                                FileHandle.standardOutput.write(Data("cimdb proxy: integrator API on http://\(address.host):\(port)\n".utf8))
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                } else {
                    try await Signals.cancellingOnTermination {
                        await withTaskGroup(of: Void.self) { group in
                            group.addTask { await forwarder.run() }
                            group.addTask { await feed.run() }
                        }
                    }
                }
                logger.info("proxy: stopped")
            }
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an integrator by name and version; prints its handle (the same one again later).",
            discussion: """
                In session mode the upstream acknowledges the registration on the proxy's next \
                round trip; until then the integrator's data is refused (exit 1). --wait waits for \
                the acknowledgement (exit 2 when it does not come in time).
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The integrator's name.")
        var name: String

        @Argument(help: "Its version.")
        var version: String

        @Option(help: ArgumentHelp("Wait up to this long for the upstream's acknowledgement: 30s, 2m.", valueName: "duration"))
        var wait: String?

        func validate() throws {
            if let wait, DurationText.seconds(wait) == nil { throw ValidationError("--wait \(wait): a duration like 30s") }
        }

        func run() async throws {
            try await reportingErrors {
                let connection = try await ProxyCommand.connect(database)
                defer { connection.close() }
                let handle = try ProxyCommand.call { () throws(ProxyQueries.Failure) in
                    try ProxyQueries.register(name: name, version: version, on: connection)
                }
                print(handle)
                guard let seconds = wait.flatMap(DurationText.seconds) else { return }
                let deadline = ContinuousClock.now + .seconds(seconds)
                while try !ProxyCommand.call({ () throws(ProxyQueries.Failure) in try ProxyQueries.isAcknowledged(handle, on: connection) }) {
                    guard ContinuousClock.now < deadline else {
                        Output.error("cimdb proxy: the upstream did not acknowledge \(name) \(version) within \(wait ?? "")")
                        throw ExitCode(2)
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }
    }

    struct Instance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "instance", abstract: "Register or deregister support instances.", subcommands: [Add.self, Remove.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Register support instances (several: one registration message); prints how many were new.")

            @OptionGroup var database: DatabaseOptions

            @Option(help: "The integrator's handle.")
            var handle: String

            @Argument(help: "The support instances' ids.")
            var ids: [String]

            @Option(help: ArgumentHelp("Their capabilities, a well-formed XML document.", valueName: "file"))
            var capabilities: String?

            func run() async throws {
                try await reportingErrors {
                    var document: String?
                    if let capabilities {
                        let bytes = try ProxyCommand.readFile(capabilities)
                        if let problem = WellFormedXML.problem(bytes) {
                            Output.error("cimdb proxy: \(capabilities): \(problem)")
                            throw ExitCode(1)
                        }
                        document = String(decoding: bytes, as: UTF8.self)
                    }
                    let connection = try await ProxyCommand.connect(database)
                    defer { connection.close() }
                    let instances = ids.map { (id: $0, capabilities: document) }
                    let new = try ProxyCommand.call { () throws(ProxyQueries.Failure) in
                        try ProxyQueries.registerInstances(handle: handle, instances: instances, on: connection)
                    }
                    print(new)
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "rm", abstract: "Deregister a support instance (kept, inactive; the upstream is told).")

            @OptionGroup var database: DatabaseOptions

            @Option(help: "The integrator's handle.")
            var handle: String

            @Argument(help: "The support instance's id.")
            var id: String

            func run() async throws {
                try await reportingErrors {
                    let connection = try await ProxyCommand.connect(database)
                    defer { connection.close() }
                    try ProxyCommand.call { () throws(ProxyQueries.Failure) in
                        try ProxyQueries.deregisterInstance(handle: handle, instance: id, on: connection)
                    }
                }
            }
        }
    }

    /// What every send takes: the database, the integrator's handle, the support instance, the QoS.
    struct SendOptions: ParsableArguments {
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var qos: QoSOptions

        @Option(help: "The integrator's handle.") var handle: String
        @Option(help: "The support instance it is about.") var instance: String

        /// Queues the message and reports its outcome (exit 2 when rejected).
        func send(kind: String, eventID: String?, body: some Encodable) async throws {
            let body = try ProxyCommand.json(body)
            let connection = try await ProxyCommand.connect(database)
            defer { connection.close() }
            let (qos, handle, instance) = (self.qos.qos, handle, instance)
            try ProxyCommand.report(
                try ProxyCommand.call { () throws(ProxyQueries.Failure) in
                    try ProxyQueries.send(handle: handle, kind: kind, instance: instance, eventID: eventID, qos: qos, body: body, on: connection)
                })
        }
    }

    /// Events' and alarms' severity, time and optional attachment.
    struct NoticeOptions: ParsableArguments {
        @Option(help: "unknown, information, degraded, minor, major, critical, fatal.") var severity: String
        @Option(help: "The message text.") var text: String
        @Option(help: ArgumentHelp("When it happened, ISO 8601 (default now, UTC).", valueName: "time")) var time: String?
        @Option(name: .customLong("data-file"), help: ArgumentHelp("Data to attach.", valueName: "file")) var dataFile: String?
        @Option(help: "The attached data's MIME type.") var mime = "application/octet-stream"

        func validate() throws {
            guard IntegratorMessage.severities.contains(severity) else {
                throw ValidationError("--severity \(severity): one of \(IntegratorMessage.severities.joined(separator: ", "))")
            }
        }

        var timestamp: String { time ?? ProxyCommand.now() }
        func payload() throws -> IntegratorMessage.Payload? {
            try dataFile.map { IntegratorMessage.Payload(mime: mime, bytes: try ProxyCommand.readFile($0)) }
        }
    }

    struct SendEvent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "send-event", abstract: "Queue an event; prints its message id.")

        @OptionGroup var options: SendOptions
        @OptionGroup var notice: NoticeOptions
        @Option(help: "The event type (the platform's own).") var type: String
        @Option(name: .customLong("event-id"), help: "The event's unique id.") var eventID: String
        @Option(help: "The event's state (opened, closed, …).") var state: String

        func run() async throws {
            try await reportingErrors {
                let event = IntegratorMessage.Event(
                    instance: options.instance, time: notice.timestamp, type: type, eventID: eventID, severity: notice.severity, state: state,
                    text: notice.text, data: try notice.payload())
                try await options.send(kind: "event", eventID: eventID, body: event)
            }
        }
    }

    struct SendAlarm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "send-alarm", abstract: "Queue an alarm; prints its message id.")

        @OptionGroup var options: SendOptions
        @OptionGroup var notice: NoticeOptions
        @Option(help: "The alarm type.") var type: String

        func run() async throws {
            try await reportingErrors {
                let alarm = IntegratorMessage.Alarm(
                    instance: options.instance, time: notice.timestamp, type: type, severity: notice.severity, text: notice.text,
                    data: try notice.payload())
                try await options.send(kind: "alarm", eventID: nil, body: alarm)
            }
        }
    }

    struct SendData: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "send-data", abstract: "Queue data (a file); prints its message id.")

        @OptionGroup var options: SendOptions
        @Option(name: .customLong("class"), help: "The data's class.") var dataClass: String
        @Option(help: "Its subclass.") var subclass: String
        @Option(help: ArgumentHelp("The data.", valueName: "file")) var file: String
        @Option(help: "Its MIME type.") var mime: String
        @Option(name: .customLong("request-id"), help: "The back-channel request this answers.") var requestID: String?

        func run() async throws {
            try await reportingErrors {
                let payload = IntegratorMessage.Payload(mime: mime, bytes: try ProxyCommand.readFile(file))
                let data = IntegratorMessage.Data(
                    instance: options.instance, class: dataClass, subclass: subclass, requestID: requestID, data: payload)
                try await options.send(kind: "data", eventID: nil, body: data)
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop forwarding (manual throttle); queuing goes on.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let connection = try await ProxyCommand.connect(database)
                defer { connection.close() }
                try ProxyCommand.call { () throws(ProxyQueries.Failure) in try ProxyQueries.setStopped(true, on: connection) }
                Output.error("forwarding stopped (cimdb proxy start resumes it)")
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume forwarding after cimdb proxy stop.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let connection = try await ProxyCommand.connect(database)
                defer { connection.close() }
                try ProxyCommand.call { () throws(ProxyQueries.Failure) in try ProxyQueries.setStopped(false, on: connection) }
                Output.error("forwarding resumed")
            }
        }
    }

    struct Limits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set the queue's size limits and the throttle (0 or 'unlimited' removes a limit); applied without a restart.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The queue's total size.", valueName: "bytes")) var totalBytes: String?
        @Option(help: ArgumentHelp("Urgent messages' share at most.", valueName: "bytes")) var urgentBytes: String?
        @Option(help: ArgumentHelp("Normal messages' share at most.", valueName: "bytes")) var normalBytes: String?
        @Option(help: ArgumentHelp("Bulk messages' share at most.", valueName: "bytes")) var bulkBytes: String?
        @Option(help: ArgumentHelp("The largest message taken.", valueName: "bytes")) var bytesPerMessage: String?
        @Option(help: ArgumentHelp("Bytes forwarded per period at most.", valueName: "bytes")) var bytesPerPeriod: String?
        @Option(help: ArgumentHelp("Messages forwarded per period at most.", valueName: "n")) var messagesPerPeriod: String?
        @Option(help: ArgumentHelp("The throttle's period: 90s, 15m, 1h, 1d.", valueName: "duration")) var period: String?
        @Option(help: ArgumentHelp("The heartbeat's period.", valueName: "duration")) var heartbeat: String?
        @Option(help: ArgumentHelp("session (data flows once the upstream acknowledges the registration) or message.", valueName: "mode"))
        var mode: String?
        @Option(help: ArgumentHelp("Messages over this many bytes (and all bulk data) are negotiated with the upstream first.", valueName: "bytes"))
        var bulkThreshold: Int?
        @Option(help: ArgumentHelp("Deferrals a bulk transfer gets (one per heartbeat) before it is dropped.", valueName: "n"))
        var bulkAttempts: Int?
        @Option(help: ArgumentHelp("How long a back-channel request waits for its integrator to take it: 90s, 1h.", valueName: "duration"))
        var requestHold: String?

        static func limit(_ text: String?, _ name: String) throws -> Int64?? {
            guard let text else { return nil }
            if text == "0" || text == "unlimited" { return .some(nil) }
            guard let value = Int64(text), value > 0 else { throw ValidationError("--\(name) \(text): a positive number of bytes, 0 or unlimited") }
            return .some(value)
        }

        func run() async throws {
            try await reportingErrors {
                var limits = ProxyQueries.Limits()
                limits.totalBytes = try Self.limit(totalBytes, "total-bytes")
                limits.urgentBytes = try Self.limit(urgentBytes, "urgent-bytes")
                limits.normalBytes = try Self.limit(normalBytes, "normal-bytes")
                limits.bulkBytes = try Self.limit(bulkBytes, "bulk-bytes")
                limits.bytesPerMessage = try Self.limit(bytesPerMessage, "bytes-per-message")
                limits.bytesPerPeriod = try Self.limit(bytesPerPeriod, "bytes-per-period")
                limits.messagesPerPeriod = try Self.limit(messagesPerPeriod, "messages-per-period")
                if let period {
                    guard let seconds = DurationText.seconds(period) else { throw ValidationError("--period \(period): a duration like 90s, 1h") }
                    limits.periodSeconds = seconds
                }
                if let heartbeat {
                    guard let seconds = DurationText.seconds(heartbeat) else {
                        throw ValidationError("--heartbeat \(heartbeat): a duration like 30s")
                    }
                    limits.heartbeatSeconds = seconds
                }
                if let mode {
                    guard ["session", "message"].contains(mode) else { throw ValidationError("--mode \(mode): session or message") }
                    limits.mode = mode
                }
                if let bulkThreshold {
                    guard bulkThreshold > 0 else { throw ValidationError("--bulk-threshold must be positive") }
                    limits.bulkThreshold = bulkThreshold
                }
                if let bulkAttempts {
                    guard bulkAttempts > 0 else { throw ValidationError("--bulk-attempts must be positive") }
                    limits.bulkAttempts = bulkAttempts
                }
                if let requestHold {
                    guard let seconds = DurationText.seconds(requestHold), seconds > 0 else {
                        throw ValidationError("--request-hold \(requestHold): a duration like 90s, 1h")
                    }
                    limits.requestHoldSeconds = seconds
                }
                let connection = try await ProxyCommand.connect(database)
                defer { connection.close() }
                try ProxyCommand.call { () throws(ProxyQueries.Failure) in try ProxyQueries.setLimits(limits, on: connection) }
                for (name, value) in try ProxyCommand.call({ () throws(ProxyQueries.Failure) in try ProxyQueries.settings(on: connection) }) {
                    let isLimit = (name.hasSuffix("_bytes") || name.hasSuffix("_period") || name == "bytes_per_message") && name != "bulk_threshold"
                    print("\(name)\t\(value ?? (isLimit ? "unlimited" : "-"))")
                }
            }
        }
    }

    struct Requests: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take the back-channel requests held for an integrator; prints each as a line of JSON.",
            discussion: """
                The upstream's requests (getStatus, managementAction, getCapabilities, \
                receiveUpdate) for this integrator or one of its support instances wait here, \
                well-formed, until it takes them — for --request-hold (cimdb proxy limits), then \
                they are discarded and the upstream is told. Each is printed once, as \
                {"id", "kind", "destination", "instance", "body", "received_at"}; answer with \
                cimdb proxy send-data --request-id ID. --wait waits for the first (a long poll); \
                no request is not an error.

                Example (an integrator's loop):
                  while true; do cimdb proxy requests --handle $H --wait 60s | handle-requests; done
                """)

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The integrator's handle.") var handle: String
        @Option(help: ArgumentHelp("Wait up to this long for a request: 30s, 2m (default: answer at once).", valueName: "duration"))
        var wait: String?
        @Option(help: "Requests at most.") var limit = 100

        func validate() throws {
            if let wait, DurationText.seconds(wait) == nil { throw ValidationError("--wait \(wait): a duration like 30s") }
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
        }

        func run() async throws {
            try await reportingErrors {
                let connection = try await ProxyCommand.connect(database)
                defer { connection.close() }
                let deadline = ContinuousClock.now + .seconds(wait.flatMap(DurationText.seconds) ?? 0)
                let (handle, limit) = (handle, limit)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                while true {
                    let requests = try ProxyCommand.call { () throws(ProxyQueries.Failure) in
                        try ProxyQueries.takeRequests(handle: handle, limit: limit, on: connection)
                    }
                    for request in requests { print(String(decoding: try encoder.encode(request), as: UTF8.self)) }
                    if !requests.isEmpty || ContinuousClock.now >= deadline { return }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }
    }

    struct Feed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The inventory as an integrator: forward its change events upstream, as events or as CIM-XML.",
            discussion: """
                `cimdb proxy run` reads every feed after the last change it queued and queues the \
                next ones as the integrator cimdb-inventory (registered on first use; in session \
                mode nothing is read before the upstream acknowledges it), in the transaction that \
                moves the feed on: each change is queued once. --events: one event per change \
                (sendEvent: type the class, state created/deleted/changed, event id \
                cimdb-event-ID, the severity mapped to the seed's, the node as the support \
                instance). --export: CIM-XML export messages (DSP0201 ExportIndication, what \
                cimdb subscription delivers), up to 100 changes each, as data of class cim-xml. \
                report.proxy_feeds shows each feed's progress.

                Examples:
                  cimdb proxy feed add --events --class CIM_FileSystem --precedence urgent
                  cimdb proxy feed add --export --node node17 --precedence bulk --ttl 1d
                  cimdb proxy feed list
                  cimdb proxy feed rm 2
                """,
            subcommands: [Add.self, List.self, Remove.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add a feed; prints its id.")
            @OptionGroup var database: DatabaseOptions
            @Flag(help: "One event per change (sendEvent).") var events = false
            @Flag(help: "CIM-XML export messages (sendData).") var export = false
            @Option(name: .customLong("class"), help: "Changes of this class and its subclasses only.") var className: String?
            @Option(help: "Changes of this node only.") var node: String?
            @Option(help: "urgent, normal or bulk.") var precedence = "normal"
            @Option(help: ArgumentHelp("How long each message may wait to be sent: 90s, 1d (default: no limit).", valueName: "duration"))
            var ttl: String?
            @Flag(help: "From the first change on record (default: from the next change).") var fromStart = false

            func validate() throws {
                guard events != export else { throw ValidationError("give --events or --export") }
                guard ["urgent", "normal", "bulk"].contains(precedence) else {
                    throw ValidationError("--precedence \(precedence): urgent, normal or bulk")
                }
                if let ttl, DurationText.seconds(ttl) == nil { throw ValidationError("--ttl \(ttl): a duration like 90s, 1d") }
            }

            func run() async throws {
                try await reportingErrors {
                    let connection = try await ProxyCommand.connect(database)
                    defer { connection.close() }
                    let id = try Feeds.add(
                        what: events ? "events" : "export", className: className, node: node, precedence: precedence,
                        ttlSeconds: ttl.flatMap(DurationText.seconds), fromStart: fromStart, on: connection)
                    print(id)
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "The feeds and how far each is (report.proxy_feeds).")
            @OptionGroup var database: DatabaseOptions

            func run() async throws {
                try await reportingErrors {
                    let connection = try await ProxyCommand.connect(database)
                    defer { connection.close() }
                    let result = try Feeds.list(on: connection)
                    print(result.columns.joined(separator: "\t"))
                    for row in result { print(result.columns.map { row[$0] ?? "-" }.joined(separator: "\t")) }
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a feed (what it queued stays queued).")
            @OptionGroup var database: DatabaseOptions
            @Argument(help: "The feed's id.") var id: Int64

            func run() async throws {
                try await reportingErrors {
                    let connection = try await ProxyCommand.connect(database)
                    defer { connection.close() }
                    guard try Feeds.remove(id, on: connection) else { throw CommandFailure("no feed has the id \(id)") }
                }
            }
        }
    }

    struct Queue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The queue's depth by precedence (report.proxy_queue).")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let connection = try await ProxyCommand.connect(database)
                defer { connection.close() }
                print("precedence\tmessages\tbytes\toldest")
                for depth in try ProxyCommand.call({ () throws(ProxyQueries.Failure) in try ProxyQueries.depth(on: connection) }) {
                    print("\(depth.precedence)\t\(depth.messages)\t\(depth.bytes)\t\(depth.oldest ?? "-")")
                }
            }
        }
    }
}
