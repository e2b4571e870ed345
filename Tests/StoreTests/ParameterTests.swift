import SQLCore
@testable import Store
import Testing

@Suite("Parameters and values against PostgreSQL")
struct ParameterTests {
    @Test("every kind of parameter round-trips, NULL included")
    func everyKind() async throws {
        let row = try await withSharedConnection { connection in
            try connection.execute(
                """
                SELECT \(-42)::int AS i, \(Int64.min)::bigint AS big, \(UInt64.max)::numeric AS unsigned, \(0.1 + 0.2)::float8 AS d,
                       \(true)::bool AS yes, \(false)::bool AS no, \(nil)::text AS null_text, \("text")::text AS s,
                       \(Double.leastNonzeroMagnitude)::float8 AS tiny, \(-Double.infinity)::float8 AS inf, \(Double.nan)::float8 AS nan, \(7)::int AS literal_int,
                       \(2.5)::float8 AS literal_double
                """)[0]
        }
        #expect(row.int("i") == -42)
        #expect(row.int64("big") == Int64.min)
        #expect(row.string("unsigned") == "18446744073709551615")
        #expect(row.double("d") == 0.1 + 0.2)
        #expect(row.bool("yes") == true)
        #expect(row.bool("no") == false)
        #expect(row["null_text"] == nil)
        #expect(row.string("s") == "text")
        #expect(row.double("tiny") == Double.leastNonzeroMagnitude)
        #expect(row.double("inf") == -Double.infinity)
        #expect(row.double("nan")?.isNaN == true)
        #expect(row.int("literal_int") == 7)
        #expect(row.double("literal_double") == 2.5)
        #expect(row[0] == "-42")
        #expect(row.columns.count == 13)
    }

    @Test("arrays with quotes, backslashes, NULL, commas, braces and spaces round-trip")
    func arrays() async throws {
        let elements: [String?] = [
            "plain", "with \"quotes\"", "back\\slash", nil, "comma,here", "{braces}", "NULL", "null", "",
            " spaced ", "tab\there", "new\nline", "unicode ✓ 日本", "\\\"", "}", "{",
        ]
        let row = try await withSharedConnection { connection in
            try connection.execute(
                "SELECT \(elements) AS a, cardinality(\(elements)) AS n, (\(elements))[4] IS NULL AS fourth_null, (\(elements))[7] AS seventh")[0]
        }
        #expect(row.stringArray("a") == elements)
        #expect(row.int("n") == elements.count)
        #expect(row.bool("fourth_null") == true)
        #expect(row.string("seventh") == "NULL")
    }

    @Test("server-written arrays parse: empty, integers, nested, lower bounds")
    func serverArrays() async throws {
        let row = try await withSharedConnection { connection in
            try connection.execute(
                """
                SELECT '{}'::text[] AS empty, ARRAY[1, NULL, 3] AS ints, '{{1,2},{3,4}}'::int[] AS nested,
                       '[0:1]={a,b}'::text[] AS bounded, ARRAY['', 'a b', NULL, 'x"y\\z']::text[] AS tricky
                """)[0]
        }
        #expect(row.stringArray("empty") == [])
        #expect(row.stringArray("ints") == ["1", nil, "3"])
        #expect(row.stringArray("nested") == ["1", "2", "3", "4"])
        #expect(row.stringArray("bounded") == ["a", "b"])
        #expect(row.stringArray("tricky") == ["", "a b", nil, "x\"y\\z"])
    }

    @Test("bytea round-trips every byte value")
    func bytea() async throws {
        let bytes = (0...255).map(UInt8.init) + [0, 0, 255]
        let row = try await withSharedConnection { connection in
            try connection.execute("SELECT \(Bytea(bytes))::bytea AS b, length(\(Bytea(bytes))::bytea) AS n")[0]
        }
        #expect(row.bytes("b") == bytes)
        #expect(row.int("n") == bytes.count)
    }

    @Test("unicode text round-trips and counts characters as the server does")
    func unicode() async throws {
        let text = "Grüße · 日本語 · 👩‍💻 · e\u{301} · Ω · \u{10FFFF}"
        let row = try await withSharedConnection { connection in
            try connection.execute("SELECT \(text)::text AS t, length(\(text)::text) AS n, \(text)::text = \(text) AS same")[0]
        }
        #expect(row.string("t") == text)
        #expect(row.int("n") == text.unicodeScalars.count)
        #expect(row.bool("same") == true)
    }

    @Test("an SQL injection attempt through a parameter stays data")
    func injection() async throws {
        let table = uniqueName("victims")
        let attack = "x'); DROP TABLE \(table); --"
        let (stored, stillThere) = try await withSharedConnection { connection in
            try connection.execute("CREATE TABLE \(identifier: table) (name text)")
            try connection.execute("INSERT INTO \(identifier: table) (name) VALUES (\(attack))")
            try connection.execute("SELECT * FROM \(identifier: table) WHERE name = \("' OR '1'='1")")
            let stored = try connection.execute("SELECT name FROM \(identifier: table)")[0].string("name")
            let present = try connection.execute("SELECT to_regclass(\(table)) IS NOT NULL AS present")[0].bool("present")
            try connection.execute("DROP TABLE \(identifier: table)")
            return (stored, present)
        }
        #expect(stored == attack)
        #expect(stillThere == true)
    }

    @Test("a NUL character in a parameter is refused before anything is sent")
    func nulCharacter() async throws {
        let outcome = try await withSharedConnection { connection in
            let error = #expect(throws: PostgresError.self) {
                try connection.execute("SELECT \("a\u{0}b")::text")
            }
            return (error?.message ?? "", try connection.execute("SELECT 1 AS one")[0].int("one"))
        }
        #expect(outcome.0.contains("$1"))
        #expect(outcome.1 == 1)
    }

    @Test("results report columns, command tags and affected rows")
    func resultShape() async throws {
        let table = uniqueName("shape")
        let (inserted, updated, selected) = try await withSharedConnection { connection in
            try connection.execute("CREATE TEMP TABLE \(identifier: table) (id int, name text)")
            let inserted = try connection.execute("INSERT INTO \(identifier: table) SELECT g, 'n' || g FROM generate_series(1, 5) g")
            let updated = try connection.execute("UPDATE \(identifier: table) SET name = \("x") WHERE id > \(2)")
            let selected = try connection.execute("SELECT id, name FROM \(identifier: table) ORDER BY id")
            return (inserted, updated, selected)
        }
        #expect(inserted.affectedRows == 5)
        #expect(inserted.commandTag == "INSERT 0 5")
        #expect(updated.affectedRows == 3)
        #expect(selected.columns == ["id", "name"])
        #expect(selected.count == 5)
        #expect(selected.map { $0.string("name") } == ["n1", "n2", "x", "x", "x"])
        #expect(selected.last?.int("id") == 5)
    }
}
