import Foundation
import Testing

/// `cimdb query` in its three formats, read-only; `cimdb db grant-reader`; `cimdb migrate`
/// installing the report views.
@Suite struct QueryCommandTests {
    @Test func queryFormatsAndReaderRoles() async throws {
        let fresh = try FreshHome(), env = fresh.env
        defer { fresh.remove() }
        let migrate = try await cimdb(["migrate"], environment: env)
        #expect(migrate.standardOutput.contains("report views: installed"), "\(migrate.standardOutput)")
        let sql = #"SELECT 1 AS n, 'a,b' AS text, NULL AS nothing, 'say "hi"' AS quoted UNION ALL SELECT 22, 'x', 'y', 'z'"#

        let table = try await cimdb(["query", sql], environment: env)
        #expect(table.status == 0, "\(table.standardError)")
        #expect(
            table.standardOutput == """
                n  | text | nothing | quoted
                ---+------+---------+---------
                1  | a,b  |         | say "hi"
                22 | x    | y       | z
                (2 rows)

                """)
        let csv = try await cimdb(["query", "--format", "csv", sql], environment: env)
        #expect(csv.standardOutput == "n,text,nothing,quoted\r\n1,\"a,b\",,\"say \"\"hi\"\"\"\r\n22,x,y,z\r\n")
        let json = try await cimdb(["query", "--format", "json", sql], environment: env)
        let decoded = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]]
        #expect(decoded?.count == 2)
        #expect(decoded?.first?["quoted"] as? String == #"say "hi""#)
        #expect(decoded?.first?["nothing"] is NSNull)

        let write = try await cimdb(["query", "DELETE FROM cimdb.node"], environment: env)
        #expect(write.status == 1)
        #expect(write.standardError.contains("read-only transaction"))
        let views = try await cimdb(["query", "SELECT count(*) AS n FROM report.node_summary"], environment: env)
        #expect(views.standardOutput.contains("0\n(1 row)"))

        let missing = try await cimdb(["db", "grant-reader", "nobody_here"], environment: env)
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("role nobody_here does not exist"))
        #expect(try await cimdb(["db", "psql", "--", "-c", "CREATE ROLE reporting NOLOGIN"], environment: env).status == 0)
        let granted = try await cimdb(["db", "grant-reader", "reporting"], environment: env)
        #expect(granted.status == 0, "\(granted.standardError)")
        #expect(try await cimdb(["migrate"], environment: env).status == 0)
        let asReader = try await cimdb(
            ["db", "psql", "--", "-At", "-c", "SET ROLE reporting", "-c", "SELECT count(*) FROM report.instance_counts"], environment: env)
        #expect(asReader.status == 0, "\(asReader.standardError)")
        #expect(Int(asReader.standardOutput.split(separator: "\n").last ?? "") ?? 0 > 0)
    }
}
