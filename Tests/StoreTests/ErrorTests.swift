import SQLCore
@testable import Store
import Testing

@Suite("Errors carry the server's fields")
struct ErrorTests {
    @Test("a unique violation has SQLSTATE 23505, detail, constraint, table and schema")
    func uniqueViolation() async throws {
        let table = uniqueName("unique")
        let error = try await withSharedConnection { connection in
            try connection.execute("CREATE TEMP TABLE \(identifier: table) (id int CONSTRAINT \(identifier: table + "_id_key") UNIQUE, name text)")
            try connection.execute("INSERT INTO \(identifier: table) VALUES (\(1), \("first"))")
            let error = #expect(throws: PostgresError.self) {
                try connection.execute("INSERT INTO \(identifier: table) VALUES (\(1), \("second"))")
            }
            // The connection stays usable after a failed statement.
            #expect(try connection.execute("SELECT count(*) AS n FROM \(identifier: table)")[0].int("n") == 1)
            return error
        }
        let failure = try #require(error)
        #expect(failure.kind == .query)
        #expect(failure.sqlState == "23505")
        #expect(failure.severity == "ERROR")
        #expect(failure.message.contains("duplicate key value violates unique constraint"))
        #expect(failure.detail == "Key (id)=(1) already exists.")
        #expect(failure.constraint == "\(table)_id_key")
        #expect(failure.table == table)
        #expect(failure.schema?.hasPrefix("pg_temp") == true)
        #expect(failure.debugDescription.hasPrefix("ERROR 23505: duplicate key value"))
        #expect(failure.debugDescription.contains("(DETAIL: Key (id)=(1) already exists.)"))
    }

    @Test("a syntax error has SQLSTATE 42601 and the 1-based position of the bad token")
    func syntaxError() async throws {
        let sql: SQL = "SELECT 1 FROM WHERE"
        let error = try await withSharedConnection { connection in
            #expect(throws: PostgresError.self) { try connection.execute(sql) }
        }
        let failure = try #require(error)
        #expect(failure.sqlState == "42601")
        #expect(failure.position == 15)
        #expect(failure.message == "syntax error at or near \"WHERE\"")
        #expect(failure.debugDescription.contains("at character 15"))
    }

    @Test("a NOT NULL violation names the column")
    func notNullViolation() async throws {
        let table = uniqueName("not_null")
        let error = try await withSharedConnection { connection in
            try connection.execute("CREATE TEMP TABLE \(identifier: table) (id int NOT NULL)")
            return #expect(throws: PostgresError.self) {
                try connection.execute("INSERT INTO \(identifier: table) VALUES (\(nil))")
            }
        }
        #expect(error?.sqlState == "23502")
        #expect(error?.column == "id")
    }

    @Test("a failed connection is a connection error and never shows the password")
    func connectionFailure() async throws {
        let port = try freeLoopbackPort()
        let error = try await Blocking.run {
            #expect(throws: PostgresError.self) {
                try Connection("postgresql://cimdb:s3cret-Passw0rd@127.0.0.1:\(port)/cimdb?connect_timeout=5")
            }
        }
        let failure = try #require(error)
        #expect(failure.kind == .connection)
        #expect(failure.sqlState == nil)
        #expect(failure.message.contains("\(port)"))
        #expect(!failure.description.contains("s3cret"))
        #expect(!failure.debugDescription.contains("s3cret"))
        #expect(failure.description == "connection error")
        #expect(failure.debugDescription.hasPrefix("connection error: "))
    }

    @Test("a closed connection refuses work with a connection error")
    func closedConnection() async throws {
        let error = try await withSharedConnection { connection in
            connection.close()
            connection.close()
            #expect(connection.serverVersion == 0)
            return #expect(throws: PostgresError.self) { try connection.execute("SELECT 1") }
        }
        #expect(error?.kind == .connection)
    }

    @Test("a script stops at its first failing statement and undoes the ones before it")
    func scriptFailure() async throws {
        let table = uniqueName("script")
        let (error, present) = try await withSharedConnection { connection in
            let error = #expect(throws: PostgresError.self) {
                try connection.executeScript("CREATE TABLE \(identifier: table) (id int); INSERT INTO \(identifier: table) VALUES (1); SELECT 1/0;")
            }
            let present = try connection.execute("SELECT to_regclass(\(table)) IS NOT NULL AS present")[0].bool("present")
            return (error, present)
        }
        #expect(error?.sqlState == "22012")
        #expect(present == false)
    }
}
