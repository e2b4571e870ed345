import AgentProtocol
import Foundation
import Inventory

/// The state directory's blocking side: SQLite calls and file reads and writes, done where
/// they are called. Only AgentState calls it, on its serial queue (see there for what is kept).
final class StateFile: @unchecked Sendable {
    // @unchecked: used from AgentState's serial queue only; besides, the SQLite handle is opened
    // in serialized mode (SQLITE_OPEN_FULLMUTEX) and the rest is immutable paths.
    let directory: String
    private let database: SQLiteDatabase

    var identityPath: String { directory + "/identity" }
    var scriptsDirectory: String { directory + "/scripts" }
    var cacheDirectory: String { directory + "/cache" }
    var helpersPath: String { directory + "/helpers.sh" }

    var runningDirectory: String { directory + "/running" }

    /// Opens the state directory, creating it and its subdirectories (mode 0700) when needed and
    /// repairing the modes of what is there: the directories 0700, the files 0600, the cached
    /// scripts 0700 — the journal, the credential and the caches are this node's secrets.
    init(directory: String) throws(AgentError) {
        self.directory = directory
        for path in [directory, directory + "/scripts", directory + "/cache", directory + "/running"] {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .state("cannot create the state directory \(path): \(error.localizedDescription)")
            }
        }
        try Self.repairModes(directory)
        // SQLite gives its -wal and -shm files the database file's mode: create it 0600 first.
        let databasePath = directory + "/state.db"
        if !FileManager.default.fileExists(atPath: databasePath) {
            let fd = open(databasePath, O_WRONLY | O_CREAT | O_CLOEXEC, mode_t(0o600))
            guard fd >= 0 else { throw .state("cannot create \(databasePath)") }
            close(fd)
        }
        database = try SQLiteDatabase(path: databasePath)
        // WAL with synchronous=FULL: a journaled result survives a crash of the agent and of
        // the machine once `journal` returns.
        try database.execute(
            """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS journal (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                kind TEXT NOT NULL,
                envelope BLOB NOT NULL,
                created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            );
            CREATE TABLE IF NOT EXISTS sequence (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS instance_cache (
                settings TEXT PRIMARY KEY,
                key_property_order TEXT NOT NULL,
                lines BLOB NOT NULL,
                discovered_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            );
            CREATE TABLE IF NOT EXISTS assignments (id INTEGER PRIMARY KEY CHECK (id = 1), json BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS site_key (position INTEGER PRIMARY KEY, public_key BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS undeliverable (
                id INTEGER PRIMARY KEY, kind TEXT NOT NULL, envelope BLOB NOT NULL, reason TEXT NOT NULL,
                set_aside_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            );
            """)
    }

    /// Directories 0700 and files 0600 (executables 0700) under `directory`, whatever an older
    /// agent, a restore or an administrator left.
    static func repairModes(_ directory: String) throws(AgentError) {
        guard chmod(directory, 0o700) == 0 else { throw .state("cannot set the mode of \(directory) to 0700: \(String(cString: strerror(errno)))") }
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return }
        while let relative = walker.nextObject() as? String {
            let path = directory + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFLNK else { continue }
            let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
            let wanted: mode_t = isDirectory || (info.st_mode & 0o100) != 0 ? 0o700 : 0o600
            if info.st_mode & 0o777 != wanted, chmod(path, wanted) != 0 {
                throw .state("cannot set the mode of \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The path of a file named by the server (a settings id) inside `directory`: the name must be
    /// a plain file name (FileName), so the file is never created outside the state directory.
    func path(in directory: String, named name: String) throws(AgentError) -> String {
        if let problem = FileName.problem(name) { throw .state("refused to use \(problem) as a file name in \(directory)") }
        return directory + "/" + name
    }

    // MARK: Site keys

    /// The site keys this agent trusts, oldest first (pinned at enrollment; see ResponseSignature).
    func loadSiteKeys() throws(AgentError) -> [SiteKey.Public] {
        try database.query("SELECT public_key FROM site_key ORDER BY position").map { row throws(AgentError) in
            guard let raw = row[0].blob, let key = SiteKey.Public(Data(raw)) else {
                throw .state("\(database.path): a pinned site key is unreadable")
            }
            return key
        }
    }

    func saveSiteKeys(_ keys: [SiteKey.Public]) throws(AgentError) {
        try database.transaction { () throws(AgentError) in
            try database.query("DELETE FROM site_key")
            for (position, key) in keys.enumerated() {
                try database.query("INSERT INTO site_key (position, public_key) VALUES (?, ?)", [.integer(Int64(position)), .blob([UInt8](key.raw))])
            }
        }
    }

    // MARK: Identity

    /// The node's credential; nil when there is none yet (not enrolled). One that is there but
    /// cannot be read is an error: enrolling again would replace a credential the server knows.
    func loadIdentity() throws(AgentError) -> NodeIdentity? {
        guard FileManager.default.fileExists(atPath: identityPath) else { return nil }
        let text: String
        do {
            text = try String(contentsOfFile: identityPath, encoding: .utf8)
        } catch {
            throw .state("cannot read the node credential \(identityPath): \(error.localizedDescription)")
        }
        guard let identity = NodeIdentity(fileContents: text) else { throw .state("\(identityPath) is not a node credential") }
        return identity
    }

    func saveIdentity(_ identity: NodeIdentity) throws(AgentError) {
        guard Self.writeAtomically(Array(identity.fileContents.utf8), to: identityPath) else {
            throw .state("cannot write the node credential to \(identityPath)")
        }
    }

    // MARK: Journal

    struct JournalEntry: Sendable {
        var id: Int64
        var kind: ResultBatch.Kind
        var envelope: [UInt8]
    }

    /// Stores a result before it is sent, giving it the next sequence number of its monitor:
    /// `make` gets the number and returns the envelope. The number is at least the current
    /// time in milliseconds, so that an agent whose state was lost still sends numbers above
    /// those the server has applied.
    @discardableResult
    func journal(kind: ResultBatch.Kind, sequenceName: String, make: (Int64) -> [UInt8]) throws(AgentError) -> Int64 {
        try database.transaction { () throws(AgentError) -> Int64 in
            let last = try database.query("SELECT value FROM sequence WHERE name = ?", [.text(sequenceName)]).first?.first?.integer ?? 0
            let sequence = max(last + 1, RequestSignature.currentMilliseconds())
            try database.query(
                "INSERT INTO sequence (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                [.text(sequenceName), .integer(sequence)])
            try database.query("INSERT INTO journal (kind, envelope) VALUES (?, ?)", [.text(kind.rawValue), .blob(make(sequence))])
            return sequence
        }
    }

    /// The oldest journaled results, up to `maximumBytes` (at least one).
    func pending(maximumBytes: Int) throws(AgentError) -> [JournalEntry] {
        var entries: [JournalEntry] = []
        var bytes = 0
        for row in try database.query("SELECT id, kind, envelope FROM journal ORDER BY id LIMIT 500") {
            guard let id = row[0].integer, let kind = row[1].text.flatMap(ResultBatch.Kind.init), let envelope = row[2].blob else { continue }
            if !entries.isEmpty && bytes + envelope.count > maximumBytes { break }
            entries.append(JournalEntry(id: id, kind: kind, envelope: envelope))
            bytes += envelope.count
        }
        return entries
    }

    /// Moves a journal entry no server can take (over every server's body limit) out of the
    /// journal, keeping it with the reason: the results after it are not held up, and nothing is
    /// thrown away.
    func setAside(_ entry: JournalEntry, reason: String) throws(AgentError) {
        try database.transaction { () throws(AgentError) in
            try database.query(
                "INSERT INTO undeliverable (id, kind, envelope, reason) VALUES (?, ?, ?, ?)",
                [.integer(entry.id), .text(entry.kind.rawValue), .blob(entry.envelope), .text(reason)])
            try database.query("DELETE FROM journal WHERE id = ?", [.integer(entry.id)])
        }
    }

    func journaledCount() throws(AgentError) -> Int {
        Int(try database.query("SELECT count(*) FROM journal").first?.first?.integer ?? 0)
    }

    /// Removes results the server settled.
    func acknowledge(through id: Int64) throws(AgentError) {
        try database.query("DELETE FROM journal WHERE id <= ?", [.integer(id)])
    }

    // MARK: Instance cache

    /// Replaces a settings object's cached instances with the lines of its last discovery, and
    /// writes them for the bash helper (`cache/SETTINGS`: the key names RS-separated, then the
    /// lines as the script printed them).
    func cacheInstances(settings: String, keyPropertyOrder: [String], output: [UInt8]) throws(AgentError) {
        let lines = output.split(separator: 0x0A, omittingEmptySubsequences: true)
        var text = Array(keyPropertyOrder.joined(separator: "\u{1E}").utf8)
        text.append(0x0A)
        for line in lines {
            text += line
            text.append(0x0A)
        }
        try database.query(
            """
            INSERT INTO instance_cache (settings, key_property_order, lines) VALUES (?, ?, ?)
            ON CONFLICT (settings) DO UPDATE SET key_property_order = excluded.key_property_order, lines = excluded.lines,
                discovered_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
            """, [.text(settings), .text(keyPropertyOrder.joined(separator: ",")), .blob(output)])
        try writeAtomically(text, to: try path(in: cacheDirectory, named: settings))
    }

    /// Instances of a settings object in the cache (lines of its last discovery).
    /// 0 when the settings object was never discovered here.
    func cachedInstanceCount(settings: String) throws(AgentError) -> Int {
        guard let blob = try database.query("SELECT lines FROM instance_cache WHERE settings = ?", [.text(settings)]).first?.first?.blob
        else { return 0 }
        return blob.split(separator: 0x0A, omittingEmptySubsequences: true).count
    }

    /// Writes the cache files again from SQLite (a lost `cache/` directory is refilled).
    func restoreCacheFiles() throws(AgentError) {
        for row in try database.query("SELECT settings, key_property_order, lines FROM instance_cache") {
            guard let settings = row[0].text, let order = row[1].text, let lines = row[2].blob else { continue }
            let path = try path(in: cacheDirectory, named: settings)
            if !FileManager.default.fileExists(atPath: path) {
                try cacheInstances(settings: settings, keyPropertyOrder: order.split(separator: ",").map(String.init), output: lines)
            }
        }
    }

    // MARK: Assignments

    func saveAssignments(_ assignments: Assignments) throws(AgentError) {
        let json: Data
        do {
            json = try JSONEncoder().encode(assignments)
        } catch {
            throw .state("cannot encode the assignments: \(error)")
        }
        try database.query(
            "INSERT INTO assignments (id, json) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json",
            [.blob([UInt8](json))])
    }

    /// The last assignments a server gave; nil when none was ever stored.
    func loadAssignments() throws(AgentError) -> Assignments? {
        guard let json = try database.query("SELECT json FROM assignments WHERE id = 1").first?.first?.blob else { return nil }
        do {
            return try JSONDecoder().decode(Assignments.self, from: Data(json))
        } catch {
            throw .state("the stored assignments in \(database.path) cannot be read: \(error)")
        }
    }

    // MARK: Files

    func writeAtomically(_ bytes: [UInt8], to path: String, permissions: Int = 0o600) throws(AgentError) {
        guard Self.writeAtomically(bytes, to: path, permissions: permissions) else { throw .state("cannot write \(path)") }
    }

    /// Writes a file whole or not at all, with its mode from the first byte: open(2) with the
    /// mode, write, fsync, rename. (FileManager.createFile writes a temporary file under the
    /// umask — 0644 — and sets the mode after the rename: for a moment, or for good when the
    /// agent is killed in between, the file was readable by all.)
    static func writeAtomically(_ bytes: [UInt8], to path: String, permissions: Int = 0o600) -> Bool {
        let temporary = path + ".new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(permissions))
        guard fd >= 0 else { return false }
        var written = 0
        let ok = bytes.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += n
            }
            return true
        }
        fchmod(fd, mode_t(permissions))  // the umask may have taken bits the caller asked for
        let synced = fsync(fd) == 0
        close(fd)
        guard ok, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            return false
        }
        return true
    }
}
