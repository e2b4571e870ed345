@testable import SQLCore
@testable import Store
import Testing

@Suite("Values and formats, without a server")
struct ValueTests {
    @Test("array literals quote every element and write NULL bare")
    func encodeArrays() {
        #expect(SQLValue(array: []).text == "{}")
        #expect(SQLValue(array: ["a", nil, "NULL", "x\"y", "b\\c", ""]).text == #"{"a",NULL,"NULL","x\"y","b\\c",""}"#)
    }

    @Test("array literal parsing: quoting, escapes, NULL, whitespace, malformed input")
    func parseArrays() {
        #expect(ArrayLiteral.parse("{}") == [])
        #expect(ArrayLiteral.parse("{a,b}") == ["a", "b"])
        #expect(ArrayLiteral.parse(#"{"a,b","c\"d",NULL,"NULL",null}"#) == ["a,b", "c\"d", nil, "NULL", nil])
        #expect(ArrayLiteral.parse(#"{ a b , c\,d }"#) == ["a b", "c,d"])
        #expect(ArrayLiteral.parse(#"{\NULL}"#) == ["NULL"])
        #expect(ArrayLiteral.parse(#"{ a\  }"#) == ["a "])
        #expect(ArrayLiteral.parse("{{1,2},{3,NULL}}") == ["1", "2", "3", nil])
        #expect(ArrayLiteral.parse("[1:2]={x,y}") == ["x", "y"])
        for malformed in ["", "a", "{", "{a", "{a,}", "{,a}", #"{"a}"#, "{a}b", "{a\"b}"] {
            #expect(ArrayLiteral.parse(malformed) == nil, "\(malformed)")
        }
        let tricky: [String?] = ["", " ", "\\", "\"", "{", "}", ",", "NULL", nil, "é 日本"]
        #expect(ArrayLiteral.parse(ArrayLiteral.encode(tricky)) == tricky)
    }

    @Test("bytea hex encodes and decodes; bad hex is nil")
    func byteaHex() {
        #expect(SQLValue(bytes: [0, 15, 16, 255]).text == "\\x000f10ff")
        #expect(ByteaHex.decode("\\x000F10ff") == [0, 15, 16, 255])
        #expect(ByteaHex.decode("\\x") == [])
        #expect(ByteaHex.decode("\\x0") == nil)
        #expect(ByteaHex.decode("\\xzz") == nil)
        #expect(ByteaHex.decode("00") == nil)
    }

    @Test("scalar values use PostgreSQL's input syntax")
    func scalars() {
        #expect(SQLValue(Double.infinity).text == "Infinity")
        #expect(SQLValue(-Double.infinity).text == "-Infinity")
        #expect(SQLValue(Double.nan).text == "NaN")
        #expect(SQLValue(0.1).text == "0.1")
        #expect(SQLValue(true).text == "true")
        #expect(SQLValue(UInt64.max).text == "18446744073709551615")
        let literals: [SQLValue] = ["s", 1, 1.5, true, nil]
        #expect(literals.map(\.text) == ["s", "1", "1.5", "true", nil])
        #expect(SQLValue.null.description == "NULL")
    }

    @Test("migration file names")
    func fileNames() {
        #expect(Migrator.parseFileName("0001_create_nodes.sql")! == (1, "create_nodes"))
        #expect(Migrator.parseFileName("0012_add_index_2.sql")! == (12, "add_index_2"))
        for bad in [
            "001_create_x.sql", "0001_create.sql", "0001_Create_x.sql", "0001-create-x.sql", "0001_create__x.sql",
            "0001_create_x.SQL", "create_x.sql", "0001_create_x.sql.bak",
        ] {
            #expect(Migrator.parseFileName(bad) == nil, "\(bad)")
        }
        #expect(Migration(version: 7, name: "drop_old_view", sql: "").fileName == "0007_drop_old_view.sql")
        #expect(Migration(version: 12345, name: "add_x", sql: "").fileName == "12345_add_x.sql")
    }

    @Test("postmaster.pid parses; a unix-socket-only server has no TCP port")
    func postmasterPID() {
        let socketOnly = PostmasterPID(text: "3752\n/d\n1795321021\n5432\n/tmp/pgt\n\n 16327840  9\nready   \n")
        #expect(socketOnly?.pid == 3752)
        #expect(socketOnly?.port == 5432)
        #expect(socketOnly?.tcpPort == nil)
        #expect(socketOnly?.socketDirectory == "/tmp/pgt")
        #expect(socketOnly?.state == "ready")
        let tcp = PostmasterPID(text: "10\n/d\n1\n6543\n/s\n127.0.0.1\n")
        #expect(tcp?.tcpPort == 6543)
        #expect(PostmasterPID(text: "") == nil)
        #expect(PostmasterPID(text: "garbage\n") == nil)
    }

    @Test("connection strings percent-encode the socket path and database name")
    func connectionStrings() {
        let cluster = EmbeddedCluster(home: "/tmp/a b/../with space")
        #expect(cluster.home == "/tmp/with space")
        #expect(cluster.connectionString() == defaultPortURI("postgresql://cimdb@/cimdb?host=/tmp/with%20space/postgres"))
        #expect(cluster.connectionString(database: "x/y") == defaultPortURI("postgresql://cimdb@/x%2Fy?host=/tmp/with%20space/postgres"))
    }

    @Test("server settings are quoted for postgresql.conf")
    func configurationQuoting() {
        #expect(EmbeddedCluster.quoted("/a b") == "'/a b'")
        #expect(EmbeddedCluster.quoted("it's \\ here") == "'it''s \\\\ here'")
    }

    @Test("error descriptions are generic (kind and SQLSTATE); the debug description has the server's fields")
    func errorDescriptions() {
        let server = PostgresError(
            kind: .query, message: "boom", sqlState: "XX000", severity: "FATAL", detail: "d", hint: "h", position: 3)
        #expect(server.description == "query error XX000")
        #expect(server.debugDescription == "FATAL XX000: boom (at character 3) (DETAIL: d) (HINT: h)")
        #expect(String(reflecting: server) == server.debugDescription)
        #expect(PostgresError(kind: .cluster, message: "no").description == "cluster error")
        #expect(PostgresError(kind: .cluster, message: "no").debugDescription == "cluster error: no")
        let migration = MigrationError(kind: .failed, file: "0002_x_y.sql", line: 4, column: 7, message: "failed", underlying: server)
        #expect(migration.description.hasPrefix("0002_x_y.sql:4:7: error: failed: FATAL XX000"))
    }

    @Test("cluster status reads as key: value lines")
    func statusDescription() {
        let status = ClusterStatus(
            initialized: true, running: true, pid: 42, dataDirectory: "/h/postgres/data", socketDirectory: "/h/postgres",
            port: nil, version: "15", account: "postgres", note: "n")
        #expect(
            status.description == """
                initialized: yes
                running: yes (pid 42)
                data directory: /h/postgres/data
                socket directory: /h/postgres
                tcp port: none (unix socket only)
                version: 15
                account: postgres
                note: n
                """)
    }

    @Test("ancestors of a path, outermost first")
    func ancestors() {
        #expect(EmbeddedCluster.ancestors(of: "/a/b/c") == ["/", "/a", "/a/b"])
        #expect(EmbeddedCluster.ancestors(of: "/a") == ["/"])
    }
}
