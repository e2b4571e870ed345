import AgentProtocol

/// What an agent keeps on disk, in its state directory (mode 0700, files 0600, repaired at
/// every start): its credential (`identity`), the SQLite file `state.db` — the result
/// journal, sequence numbers, the pinned site keys, the instance cache and the last
/// assignments — the scripts by hash (`scripts/`), the instance cache as text for the bash
/// helpers (`cache/`), the process groups of running scripts (`running/`), and `helpers.sh`.
///
/// Everything but the journal and the credential is a cache (SPEC §7: agents are dataless):
/// deleting it costs a refetch and, for the instance cache, a discovery run.
///
/// Every call is carried out by `StateFile` on one serial queue (`BlockingQueue`): SQLite and
/// the file system block, and the agent's tasks must not block the cooperative pool.
final class AgentState: Sendable {
    typealias JournalEntry = StateFile.JournalEntry

    private let file: StateFile
    /// The queue the state's blocking calls run on, for the caller's own file work in the
    /// state directory (ScriptCache).
    let queue: BlockingQueue

    var directory: String { file.directory }
    var identityPath: String { file.identityPath }
    var scriptsDirectory: String { file.scriptsDirectory }
    var cacheDirectory: String { file.cacheDirectory }
    var runningDirectory: String { file.runningDirectory }
    var helpersPath: String { file.helpersPath }

    private init(file: StateFile, queue: BlockingQueue) {
        self.file = file
        self.queue = queue
    }

    /// Opens (creating when needed) the state directory and its SQLite file.
    static func open(directory: String) async throws(AgentError) -> AgentState {
        let queue = BlockingQueue(label: "cimdb.agent.state")
        let file = try await queue.run { () throws(AgentError) in try StateFile(directory: directory) }
        return AgentState(file: file, queue: queue)
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (StateFile) throws(AgentError) -> T) async throws(AgentError) -> T {
        let file = file
        return try await queue.run { () throws(AgentError) in try body(file) }
    }

    // MARK: Identity

    /// The node's credential; nil when not enrolled yet.
    func loadIdentity() async throws(AgentError) -> NodeIdentity? {
        try await run { file throws(AgentError) in try file.loadIdentity() }
    }

    func saveIdentity(_ identity: NodeIdentity) async throws(AgentError) {
        try await run { file throws(AgentError) in try file.saveIdentity(identity) }
    }

    // MARK: Site keys

    func loadSiteKeys() async throws(AgentError) -> [SiteKey.Public] {
        try await run { file throws(AgentError) in try file.loadSiteKeys() }
    }

    func saveSiteKeys(_ keys: [SiteKey.Public]) async throws(AgentError) {
        try await run { file throws(AgentError) in try file.saveSiteKeys(keys) }
    }

    // MARK: Journal

    /// Stores a result before it is sent, giving it the next sequence number of its monitor:
    /// `make` gets the number and returns the envelope (StateFile.journal).
    @discardableResult
    func journal(kind: ResultBatch.Kind, sequenceName: String, make: @escaping @Sendable (Int64) -> [UInt8]) async throws(AgentError) -> Int64 {
        try await run { file throws(AgentError) in try file.journal(kind: kind, sequenceName: sequenceName, make: make) }
    }

    /// The oldest journaled results, up to `maximumBytes` (at least one).
    func pending(maximumBytes: Int) async throws(AgentError) -> [JournalEntry] {
        try await run { file throws(AgentError) in try file.pending(maximumBytes: maximumBytes) }
    }

    /// Moves a journal entry no server can take out of the journal, keeping it with the reason.
    func setAside(_ entry: JournalEntry, reason: String) async throws(AgentError) {
        try await run { file throws(AgentError) in try file.setAside(entry, reason: reason) }
    }

    func journaledCount() async throws(AgentError) -> Int {
        try await run { file throws(AgentError) in try file.journaledCount() }
    }

    /// Removes results the server settled.
    func acknowledge(through id: Int64) async throws(AgentError) {
        try await run { file throws(AgentError) in try file.acknowledge(through: id) }
    }

    // MARK: Instance cache

    /// Replaces a settings object's cached instances (SQLite and `cache/SETTINGS`).
    func cacheInstances(settings: String, keyPropertyOrder: [String], output: [UInt8]) async throws(AgentError) {
        try await run { file throws(AgentError) in try file.cacheInstances(settings: settings, keyPropertyOrder: keyPropertyOrder, output: output) }
    }

    /// Instances of a settings object in the cache; 0 when it was never discovered here.
    func cachedInstanceCount(settings: String) async throws(AgentError) -> Int {
        try await run { file throws(AgentError) in try file.cachedInstanceCount(settings: settings) }
    }

    /// Writes the cache files again from SQLite (a lost `cache/` directory is refilled).
    func restoreCacheFiles() async throws(AgentError) {
        try await run { file throws(AgentError) in try file.restoreCacheFiles() }
    }

    // MARK: Assignments

    func saveAssignments(_ assignments: Assignments) async throws(AgentError) {
        try await run { file throws(AgentError) in try file.saveAssignments(assignments) }
    }

    /// The last assignments a server gave; nil when none was ever stored.
    func loadAssignments() async throws(AgentError) -> Assignments? {
        try await run { file throws(AgentError) in try file.loadAssignments() }
    }

    // MARK: Files

    func writeAtomically(_ bytes: [UInt8], to path: String, permissions: Int = 0o600) async throws(AgentError) {
        try await run { file throws(AgentError) in try file.writeAtomically(bytes, to: path, permissions: permissions) }
    }
}
