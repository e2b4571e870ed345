import SQLCore
@testable import Store
import Testing

@Suite("Transactions")
struct TransactionTests {
    struct Abort: Error {}

    @Test("a transaction commits what its body did")
    func commits() async throws {
        let table = uniqueName("commit")
        let conninfo = try await SharedDatabase.conninfo()
        let value = try await withConnection(to: conninfo) { connection in
            try connection.execute("CREATE TABLE \(identifier: table) (id int)")
            return try connection.transaction { connection in
                try connection.execute("INSERT INTO \(identifier: table) VALUES (1), (2)")
                #expect(connection.isInTransaction)
                return 42
            }
        }
        #expect(value == 42)
        let count = try await withConnection(to: conninfo) { connection in
            defer { _ = try? connection.execute("DROP TABLE \(identifier: table)") }
            return try connection.execute("SELECT count(*) AS n FROM \(identifier: table)")[0].int("n")
        }
        #expect(count == 2)
    }

    @Test("a Swift error thrown in the body rolls everything back and is rethrown")
    func rollsBackOnSwiftError() async throws {
        let table = uniqueName("rollback")
        let (count, inTransaction) = try await withSharedConnection { connection in
            try connection.execute("CREATE TEMP TABLE \(identifier: table) (id int)")
            #expect(throws: Abort.self) {
                try connection.transaction { connection in
                    try connection.execute("INSERT INTO \(identifier: table) VALUES (1)")
                    throw Abort()
                }
            }
            return (try connection.execute("SELECT count(*) AS n FROM \(identifier: table)")[0].int("n"), connection.isInTransaction)
        }
        #expect(count == 0)
        #expect(inTransaction == false)
    }

    @Test("an SQL error in the body rolls back and leaves the connection usable")
    func rollsBackOnSQLError() async throws {
        let table = uniqueName("sql_error")
        let count = try await withSharedConnection { connection in
            try connection.execute("CREATE TEMP TABLE \(identifier: table) (id int PRIMARY KEY)")
            let error = #expect(throws: PostgresError.self) {
                try connection.transaction { connection in
                    try connection.execute("INSERT INTO \(identifier: table) VALUES (1)")
                    try connection.execute("INSERT INTO \(identifier: table) VALUES (1)")
                }
            }
            #expect(error?.sqlState == "23505")
            return try connection.execute("SELECT count(*) AS n FROM \(identifier: table)")[0].int("n")
        }
        #expect(count == 0)
    }

    @Test("a nested transaction is a savepoint: an inner failure undoes only the inner work")
    func nestedSavepoint() async throws {
        let table = uniqueName("nested")
        let ids = try await withSharedConnection { connection in
            try connection.execute("CREATE TEMP TABLE \(identifier: table) (id int)")
            try connection.transaction { connection in
                try connection.execute("INSERT INTO \(identifier: table) VALUES (1)")
                #expect(throws: Abort.self) {
                    try connection.transaction { connection in
                        try connection.execute("INSERT INTO \(identifier: table) VALUES (2)")
                        throw Abort()
                    }
                }
                try connection.transaction { connection in
                    try connection.execute("INSERT INTO \(identifier: table) VALUES (3)")
                }
            }
            return try connection.execute("SELECT id FROM \(identifier: table) ORDER BY id").map { $0.int("id") }
        }
        #expect(ids == [1, 3])
    }

    @Test("inside a transaction the caller began, a failing transaction undoes only its own work")
    func insideCallerTransaction() async throws {
        let table = uniqueName("caller")
        let (ids, stillOpen) = try await withSharedConnection { connection in
            try connection.execute("CREATE TEMP TABLE \(identifier: table) (id int)")
            try connection.execute("BEGIN")
            try connection.execute("INSERT INTO \(identifier: table) VALUES (1)")
            #expect(throws: Abort.self) {
                try connection.transaction { connection in
                    try connection.execute("INSERT INTO \(identifier: table) VALUES (2)")
                    throw Abort()
                }
            }
            let stillOpen = connection.isInTransaction
            try connection.execute("COMMIT")
            return (try connection.execute("SELECT id FROM \(identifier: table) ORDER BY id").map { $0.int("id") }, stillOpen)
        }
        #expect(ids == [1])
        #expect(stillOpen)
    }
}
