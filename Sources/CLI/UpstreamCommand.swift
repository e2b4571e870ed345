import ArgumentParser
import CommandSupport
import Foundation
import Logging
import Upstream

/// `cimdb upstream`: the receiving end of site proxies.
struct UpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upstream",
        abstract: "Receive what site proxies forward (events, alarms, data, registrations) into a database of its own.",
        discussion: """
            The upstream installs its schema (upstream.*) in the database when it starts, records \
            every event, alarm and data message once per remote services id (a redelivered batch \
            or a redundant proxy adds nothing), acknowledges registrations in its answers, marks \
            deregistered support instances inactive with an audit record, and drops data from \
            integrators that never registered (upstream.dropped). It answers 200 only after \
            committing. The protocol: docs/proxy-protocol.md.

            Examples:
              cimdb upstream --listen 0.0.0.0:7490 --database-url postgresql://collector@db/central
              psql central -c 'SELECT kind, precedence, received_at FROM upstream.received ORDER BY seq DESC LIMIT 10'
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Where to listen (port 0: any free port, printed).", valueName: "host:port"))
    var listen = "127.0.0.1:7490"

    @Option(help: ArgumentHelp("A file holding the bearer token proxies must present (mode 0600).", valueName: "file"))
    var tokenFile: String?

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel = "info"

    func validate() throws {
        guard HostPort(listen) != nil else { throw ValidationError("--listen \(listen): expected HOST:PORT") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        try await reportingErrors {
            let address = HostPort(listen)!
            let token = try tokenFile.map { try TokenFile.read($0) }
            let conninfo = try await database.conninfo()
            let logger = LogSetup.make("cimdb.upstream", level: logLevel)
            let configuration = UpstreamServer.Configuration(host: address.host, port: address.port, conninfo: conninfo, token: token)
            try await UpstreamServer(configuration: configuration, logger: logger).run { port in
                FileHandle.standardOutput.write(Data("cimdb upstream listening on http://\(address.host):\(port)\n".utf8))
            }
        }
    }
}

/// `HOST:PORT` (the host may be empty: all addresses).
struct HostPort {
    var host: String
    var port: Int

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        let host = String(text[..<colon])
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }
}

/// A secret read from a file, never from the command line; the file must not be readable by others.
enum TokenFile {
    static func read(_ path: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { throw CommandFailure("cannot read the token file \(path): \(String(cString: strerror(errno)))") }
        guard info.st_mode & 0o077 == 0 else { throw CommandFailure("the token file \(path) is readable by others: chmod 600 \(path)") }
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read the token file \(path)") }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw CommandFailure("the token file \(path) is empty") }
        return token
    }
}
