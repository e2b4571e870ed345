import Foundation
import SQLCore
@testable import Store
import Synchronization
import Testing

/// Counts calls under way and the most at once.
final class Concurrency: Sendable {
    let state = Mutex((now: 0, most: 0))

    func enter() {
        state.withLock {
            $0.now += 1; $0.most = max($0.most, $0.now)
        }
    }

    func leave() {
        state.withLock { $0.now -= 1 }
    }
}

@Suite("Connection pool")
struct PoolTests {
    @Test("50 concurrent calls on a pool of 4 all finish, at most 4 at a time, on at most 4 connections")
    func concurrentCalls() async throws {
        let pool = ConnectionPool(conninfo: try await SharedDatabase.conninfo(), size: 4)
        let running = Concurrency()
        let pids = try await withThrowingTaskGroup(of: Int32.self) { group in
            for i in 0..<50 {
                group.addTask {
                    try await pool.withConnection { connection in
                        running.enter()
                        defer { running.leave() }
                        let row = try connection.execute("SELECT pg_backend_pid() AS pid, \(i)::int AS i, pg_sleep(0.01)")[0]
                        #expect(row.int("i") == i)
                        return Int32(row.int("pid") ?? 0)
                    }
                }
            }
            var pids: [Int32] = []
            for try await pid in group { pids.append(pid) }
            return pids
        }
        await pool.close()
        #expect(pids.count == 50)
        #expect(Set(pids).count <= 4)
        #expect(running.state.withLock { $0.most } <= 4)
        #expect(running.state.withLock { $0.now } == 0)
    }

    @Test("connections killed with pg_terminate_backend are replaced")
    func recoversTerminatedConnections() async throws {
        let conninfo = try await SharedDatabase.conninfo()
        let pool = ConnectionPool(conninfo: conninfo, size: 2)
        let before = try await backendPIDs(pool, calls: 4)
        #expect(before.count == 2)
        try await terminate(before, conninfo: conninfo)
        let after = try await backendPIDs(pool, calls: 4)
        #expect(!after.isEmpty)
        #expect(after.isDisjoint(with: before))
        await pool.close()
    }

    @Test("a connection that dies during a call fails that call; the next call gets a fresh one")
    func recoversFromDeathDuringCall() async throws {
        let pool = ConnectionPool(conninfo: try await SharedDatabase.conninfo(), size: 1)
        let first = try await pool.withConnection { $0.backendProcessID }
        await #expect(throws: PostgresError.self) {
            try await pool.withConnection { connection in
                try connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            }
        }
        let second = try await pool.withConnection { try $0.execute("SELECT pg_backend_pid() AS pid")[0].int("pid") }
        #expect(second != nil)
        #expect(second.map(Int32.init) != first)
        await pool.close()
    }

    @Test("a transaction left open by a call is rolled back")
    func rollsBackLeftoverTransaction() async throws {
        let pool = ConnectionPool(conninfo: try await SharedDatabase.conninfo(), size: 1)
        try await pool.withConnection { try $0.execute("BEGIN") }
        let inTransaction = try await pool.withConnection { $0.isInTransaction }
        #expect(inTransaction == false)
        await pool.close()
    }

    @Test("a closed pool refuses calls; a bad connection string fails the call, not the pool")
    func closedAndBroken() async throws {
        let pool = ConnectionPool(conninfo: try await SharedDatabase.conninfo(), size: 1)
        await pool.close()
        let closed = await #expect(throws: PostgresError.self) { try await pool.withConnection { _ in 1 } }
        #expect(closed?.message.contains("closed") == true)

        let broken = ConnectionPool(conninfo: "host=/nonexistent-cimdb-socket dbname=x", size: 1)
        let failure = await #expect(throws: PostgresError.self) { try await broken.withConnection { _ in 1 } }
        #expect(failure?.kind == .connection)
        await broken.close()
    }

    /// The backend PIDs `calls` concurrent calls ran on (each holds its connection briefly).
    @Test("settings apply to every connection: a session stalled inside a transaction is ended and its locks freed")
    func settingsEndStalledTransactions() async throws {
        let conninfo = try await SharedDatabase.conninfo()
        let stalled = ConnectionPool(conninfo: conninfo, size: 1, settings: [(name: "idle_in_transaction_session_timeout", value: "1s")])
        let other = ConnectionPool(conninfo: conninfo, size: 1)
        #expect(try await stalled.withConnection { try $0.execute("SHOW idle_in_transaction_session_timeout")[0].string(0) } == "1s")
        let holder = Task {
            try await stalled.withConnection { connection in
                try connection.execute("BEGIN")
                try connection.execute("SELECT pg_advisory_xact_lock(424242)")
                Thread.sleep(forTimeInterval: 3)  // a client that stops mid-transaction
                return Result { try connection.execute("SELECT 1") }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        // Without the setting the lock is held for 3 s and this fails at its 2 s lock timeout.
        try await other.withConnection { connection in
            try connection.transaction {
                try $0.execute("SET LOCAL lock_timeout = '2s'")
                try $0.execute("SELECT pg_advisory_xact_lock(424242)")
            }
        }
        let late = try await holder.value
        #expect(throws: PostgresError.self) { try late.get() }
        // And the pool replaced the ended session.
        #expect(try await stalled.withConnection { try $0.execute("SELECT 1")[0].int(0) } == 1)
        await stalled.close()
        await other.close()
    }

    private func backendPIDs(_ pool: ConnectionPool, calls: Int) async throws -> Set<Int32> {
        try await withThrowingTaskGroup(of: Int32.self) { group in
            for _ in 0..<calls {
                group.addTask {
                    try await pool.withConnection { connection in
                        try connection.execute("SELECT pg_sleep(0.05)")
                        return connection.backendProcessID
                    }
                }
            }
            var pids = Set<Int32>()
            for try await pid in group { pids.insert(pid) }
            return pids
        }
    }

    /// Terminates the backends and waits until the server no longer lists them.
    private func terminate(_ pids: Set<Int32>, conninfo: String) async throws {
        let list = pids.map(String.init)
        try await withConnection(to: conninfo) { connection in
            try connection.execute("SELECT pg_terminate_backend(pid) FROM unnest(\(list)::int[]) AS pid")
            while try connection.execute(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY(\(list)::int[])")[0].int("n") != 0
            {
                _ = try connection.notifications(timeout: .milliseconds(10))
            }
        }
    }
}
