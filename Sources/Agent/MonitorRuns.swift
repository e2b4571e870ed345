import AgentProtocol
import Foundation
import Inventory
import Logging

/// Runs monitors' scripts on this node and builds the results the server applies.
struct MonitorRuns: Sendable {
    var node: String
    var state: AgentState
    var runner: ScriptRunner
    var logger: Logger
    /// Variables every script gets besides the agent's own environment.
    var environment: [String: String]

    init(node: String, state: AgentState, runner: ScriptRunner, logger: Logger) {
        self.node = node
        self.state = state
        self.runner = runner
        self.logger = logger
        environment = [
            "CIMDB_NODE": node,
            "CIMDB_INSTANCE_CACHE": state.cacheDirectory,
            "CIMDB_HELPERS": state.helpersPath,
            // Every bash script reads the helpers first (bash sources $BASH_ENV when it runs a script).
            "BASH_ENV": state.helpersPath,
        ]
    }

    /// Runs a discovery monitor: its settings in order, each discovery script then its
    /// association script, the instance cache filled from every successful discovery before
    /// the next script runs. A settings object whose parent found nothing is skipped; one whose
    /// parent failed is reported failed (its instances are kept).
    func discovery(_ monitor: Assignments.Discovery, scripts: ScriptCache) async -> DiscoveryResult {
        let started = Date()
        let timeout = Duration.milliseconds(monitor.timeoutMilliseconds)
        var runs: [DiscoveryResult.SettingsRun] = []
        var found: [String: Int] = [:]
        var failed: Set<String> = []
        for settings in monitor.settings {
            if let parent = settings.parent {
                if failed.contains(parent) {
                    failed.insert(settings.id)
                    runs.append(.init(id: settings.id, status: .failed, discovery: [], failure: "not run: parent settings \(parent) failed"))
                    continue
                }
                let parentFound: Int
                if let count = found[parent] {
                    parentFound = count
                } else {
                    do {
                        parentFound = try await state.cachedInstanceCount(settings: parent)
                    } catch {
                        failed.insert(settings.id)
                        runs.append(
                            .init(
                                id: settings.id, status: .failed, discovery: [],
                                failure: "not run: the instance cache of parent settings \(parent) cannot be read: \(error)"))
                        continue
                    }
                }
                if parentFound == 0 {
                    found[settings.id] = 0
                    await cache(settings, output: [])
                    runs.append(.init(id: settings.id, status: .skipped, discovery: []))
                    continue
                }
            }
            var environment = self.environment
            environment["CIMDB_SETTINGS"] = settings.id
            // Empty for discovery and association runs, whatever the agent's own environment holds:
            // one script may serve discovery and updates (SPEC §4 helpers; scripts/helpers.sh).
            environment["CIMDB_PROPERTY"] = ""
            guard let discoveryPath = await scripts.path(for: settings.discoveryScript) else {
                failed.insert(settings.id)
                runs.append(
                    .init(
                        id: settings.id, status: .failed, discovery: [], failure: "the discovery script \(settings.discoveryScript) is not available")
                )
                continue
            }
            let discovery = await runner.run(
                discoveryPath, environment: environment, timeout: timeout, label: "discovery \(monitor.monitor), settings \(settings.id)")
            guard discovery.succeeded else {
                failed.insert(settings.id)
                runs.append(
                    .init(
                        id: settings.id, status: .failed, discovery: [], exitCode: discovery.exitCode, stderr: discovery.standardError,
                        failure: "discovery script: " + (discovery.failure(timeout: timeout, cap: runner.maximumOutputBytes) ?? "")))
                continue
            }
            found[settings.id] = discovery.output.split(separator: 0x0A, omittingEmptySubsequences: true).count
            await cache(settings, output: discovery.output)
            var associations: [UInt8]?
            if let hash = settings.associationScript {
                guard let path = await scripts.path(for: hash) else {
                    failed.insert(settings.id)
                    runs.append(
                        .init(
                            id: settings.id, status: .failed, discovery: discovery.output, failure: "the association script \(hash) is not available")
                    )
                    continue
                }
                let run = await runner.run(
                    path, environment: environment, timeout: timeout, label: "associations \(monitor.monitor), settings \(settings.id)")
                guard run.succeeded else {
                    failed.insert(settings.id)
                    runs.append(
                        .init(
                            id: settings.id, status: .failed, discovery: discovery.output, exitCode: run.exitCode, stderr: run.standardError,
                            failure: "association script: " + (run.failure(timeout: timeout, cap: runner.maximumOutputBytes) ?? "")))
                    continue
                }
                associations = run.output
            }
            runs.append(
                .init(
                    id: settings.id, status: .ok, discovery: discovery.output, associations: associations, exitCode: 0,
                    stderr: discovery.standardError.isEmpty ? nil : discovery.standardError))
        }
        return DiscoveryResult(
            node: node, monitor: monitor.monitor, sequence: 0, startedAt: Envelope.timestamp(started),
            finishedAt: Envelope.timestamp(Date()), settings: runs)
    }

    /// Fills the instance cache with a discovery's lines. A failure is logged and the run goes
    /// on: the result still reaches the server; scripts reading the cache see the previous lines.
    private func cache(_ settings: MonitorSnapshot.Settings, output: [UInt8]) async {
        do {
            try await state.cacheInstances(settings: settings.id, keyPropertyOrder: settings.keyPropertyOrder, output: output)
        } catch {
            logger.error("the instance cache of \(settings.id) was not updated: \(error)")
        }
    }

    /// Runs one update monitor's script.
    func update(_ monitor: Assignments.Update, scripts: ScriptCache) async -> UpdateResult {
        let started = Date()
        let timeout = Duration.milliseconds(monitor.timeoutMilliseconds)
        var environment = self.environment
        environment["CIMDB_SETTINGS"] = monitor.settings
        environment["CIMDB_PROPERTY"] = monitor.property
        guard let path = await scripts.path(for: monitor.script) else {
            return UpdateResult(
                node: node, settings: monitor.settings, property: monitor.property, sequence: 0,
                startedAt: Envelope.timestamp(started), finishedAt: Envelope.timestamp(Date()), status: .failed, output: [],
                failure: "the update script \(monitor.script) is not available")
        }
        let run = await runner.run(path, environment: environment, timeout: timeout, label: "update \(monitor.key)")
        return UpdateResult(
            node: node, settings: monitor.settings, property: monitor.property, sequence: 0,
            startedAt: Envelope.timestamp(started), finishedAt: Envelope.timestamp(Date()),
            status: run.succeeded ? .ok : .failed, output: run.succeeded ? run.output : [], exitCode: run.exitCode,
            stderr: run.standardError.isEmpty ? nil : run.standardError,
            failure: run.failure(timeout: timeout, cap: runner.maximumOutputBytes))
    }
}

/// Scripts by SHA-256 in the state directory, fetched from a server on a miss (and checked
/// against their hash), or taken from a local configuration.
actor ScriptCache {
    private let directory: String
    /// Where the file system is touched (the state's queue: not the cooperative pool).
    private let queue: BlockingQueue
    private let logger: Logger
    private let fetch: @Sendable (String) async -> [UInt8]?

    init(directory: String, queue: BlockingQueue, logger: Logger, fetch: @escaping @Sendable (String) async -> [UInt8]?) {
        self.directory = directory
        self.queue = queue
        self.logger = logger
        self.fetch = fetch
    }

    /// The path of the executable script with this hash, fetching it first if needed; nil
    /// when no server has it or it cannot be stored (logged).
    func path(for hash: String) async -> String? {
        guard Digest.isHex(hash, length: 64) else { return nil }
        let path = directory + "/" + hash
        if await queue.run({ FileManager.default.isExecutableFile(atPath: path) }) { return path }
        guard let content = await fetch(hash), Script(content).hash == hash else { return nil }
        do {
            try await store(content, at: path)
        } catch {
            logger.error("script \(hash): \(error)")
            return nil
        }
        return path
    }

    func store(_ content: [UInt8]) async throws(AgentError) {
        try await store(content, at: directory + "/" + Script(content).hash)
    }

    private func store(_ content: [UInt8], at path: String) async throws(AgentError) {
        try await queue.run { () throws(AgentError) in
            guard StateFile.writeAtomically(content, to: path, permissions: 0o700) else {
                throw .state("cannot write the script \(path)")
            }
        }
    }
}
