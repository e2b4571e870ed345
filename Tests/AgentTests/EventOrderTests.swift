import Dispatch
import Foundation
import InstallationTesting
import SQLCore
import Store
import Synchronization
import Testing

/// Finding 7 of "Trust and durability": event ids came from a sequence, so with two writers a
/// transaction holding id 9 could commit after one holding id 10, and a reader of "events after
/// the last id I saw" skipped 9. Now ids are taken under one lock held to commit (migration 0009).
@Suite("event ids in commit order", .timeLimit(.minutes(3)))
struct EventOrderTests {
    static func insertEvent(_ connection: Connection, _ label: String) throws {
        try connection.execute(
            """
            INSERT INTO cimdb.event (node, kind, class_name, instance_path, severity)
            VALUES (\(label), 'created', 'CIM_Test', \("CIM_Test.Name=\"\(label)\""), 'info')
            """)
    }

    /// Runs blocking libpq work on a thread of its own.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    final class Flag: Sendable {
        private let value = Atomic(false)
        var isSet: Bool { value.load(ordering: .acquiring) }
        func set() { value.store(true, ordering: .releasing) }
    }

    @Test("a writer takes event ids only after the writer before it committed")
    func idsFollowCommits() async throws {
        let conninfo = try await TestDatabases.installed()
        let first = try Connection(conninfo), reader = try Connection(conninfo)
        defer { [first, reader].forEach { $0.close() } }
        try first.execute("BEGIN")
        try Self.insertEvent(first, "early")
        // The second writer must wait for the first one's commit before it gets an id.
        let secondDone = Flag()
        let secondTask = Task {
            try await Self.onThread {
                let second = try Connection(conninfo)
                defer { second.close() }
                try second.transaction { try Self.insertEvent($0, "late") }
                secondDone.set()
            }
        }
        try await Task.sleep(for: .milliseconds(700))
        let tookAnID = secondDone.isSet
        #expect(!tookAnID, "the second writer took an id while the first one was still open")
        // What a reader sees now: nothing (the first writer is open, the second waits).
        #expect(try reader.execute("SELECT count(*) FROM cimdb.event").first?.int64(0) == 0)
        try first.execute("COMMIT")
        try await secondTask.value
        let order = try reader.execute("SELECT node FROM cimdb.event ORDER BY id").map { $0["node"] ?? "" }
        #expect(order == ["early", "late"])
    }

    @Test("a reader of events after the last id it saw misses none while two writers race")
    func readerMissesNothing() async throws {
        let conninfo = try await TestDatabases.installed()
        let stop = Flag()
        let writers = (0..<2).map { w in
            Task {
                try await Self.onThread {
                    let connection = try Connection(conninfo)
                    defer { connection.close() }
                    var written = 0
                    // Transactions of different lengths, so that they overlap every way.
                    while !stop.isSet && written < 600 {
                        try connection.transaction { connection in
                            for i in 0..<(1 + written % 3) { try Self.insertEvent(connection, "w\(w)-\(written)-\(i)") }
                            if written % 4 == w { try connection.execute("SELECT pg_sleep(0.003)") }
                        }
                        written += 1
                    }
                    return written
                }
            }
        }
        let reader = Task {
            try await Self.onThread { () -> [Int64] in
                let connection = try Connection(conninfo)
                defer { connection.close() }
                var seen: [Int64] = []
                var last: Int64 = 0
                while true {
                    let done = stop.isSet
                    let ids = try connection.execute("SELECT id FROM cimdb.event WHERE id > \(last) ORDER BY id").compactMap { $0.int64(0) }
                    seen += ids
                    last = ids.last ?? last
                    if done { return seen }
                    usleep(1_000)
                }
            }
        }
        var total = 0
        for writer in writers { total += try await writer.value }
        stop.set()
        let seen = try await reader.value
        let all = try Connection(conninfo)
        defer { all.close() }
        let ids = try all.execute("SELECT id FROM cimdb.event ORDER BY id").compactMap { $0.int64(0) }
        #expect(total > 0)
        #expect(Set(seen) == Set(ids), "the reader missed \(Set(ids).subtracting(seen).count) of \(ids.count) events")
        #expect(seen == ids.sorted(), "the reader saw ids out of order")
    }
}
