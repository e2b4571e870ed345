import SQLCore
@testable import Store
import Testing

@Suite("COPY FROM STDIN")
struct CopyTests {
    /// Row `i`: awkward text built from tabs, newlines, carriage returns, backslashes, `\N` as
    /// text, unicode, empty strings and NULLs.
    static func row(_ i: Int) -> [String?] {
        let pieces = ["\t", "\n", "\r", "\\", "\\N", "\\t", "é", "日本", " ", "\"", "'", ",", "{}", "|"]
        var text = "r\(i)"
        for k in 0..<(i % 5) { text += pieces[(i + k * 3) % pieces.count] + String(i % 97) }
        let note: String? = i % 7 == 0 ? nil : (i % 11 == 0 ? "" : text.uppercased())
        return [String(i), text, note]
    }

    @Test("100,000 rows of awkward text round-trip exactly")
    func roundTrip() async throws {
        let table = uniqueName("copy")
        let count = 100_000
        let (copied, mismatches, total) = try await withSharedConnection { connection in
            try connection.execute("CREATE TEMP TABLE \(identifier: table) (id int PRIMARY KEY, text text NOT NULL, note text)")
            let copied = try connection.copyIn("COPY \(identifier: table) (id, text, note) FROM STDIN") { writer in
                for i in 0..<count { writer.appendRow(Self.row(i)) }
                #expect(writer.rowCount == count)
            }
            let rows = try connection.execute("SELECT id, text, note FROM \(identifier: table) ORDER BY id")
            var mismatches = 0
            for (i, row) in rows.enumerated() where [row[0], row[1], row[2]] != Self.row(i) { mismatches += 1 }
            return (copied, mismatches, rows.count)
        }
        #expect(copied == count)
        #expect(total == count)
        #expect(mismatches == 0)
    }

    @Test("a bad row aborts the whole COPY with the server's error")
    func badRowAborts() async throws {
        let table = uniqueName("copy_bad")
        let (error, count) = try await withSharedConnection { connection in
            try connection.execute("CREATE TEMP TABLE \(identifier: table) (id int, name text)")
            let error = #expect(throws: PostgresError.self) {
                try connection.copyIn("COPY \(identifier: table) FROM STDIN") { writer in
                    for i in 0..<50_000 { writer.appendRow([i == 40_000 ? "not a number" : String(i), "n\(i)"]) }
                }
            }
            return (error, try connection.execute("SELECT count(*) AS n FROM \(identifier: table)")[0].int("n"))
        }
        #expect(error?.kind == .copy)
        #expect(error?.sqlState == "22P02")
        #expect(error?.message.contains("not a number") == true)
        #expect(error?.context?.contains("line 40001") == true)
        #expect(count == 0)
    }

    @Test("an error thrown by the producer aborts the COPY and is rethrown")
    func producerThrows() async throws {
        struct Stop: Error {}
        let table = uniqueName("copy_stop")
        let count = try await withSharedConnection { connection in
            try connection.execute("CREATE TEMP TABLE \(identifier: table) (id int)")
            #expect(throws: Stop.self) {
                try connection.copyIn("COPY \(identifier: table) FROM STDIN") { writer in
                    for i in 0..<10_000 { writer.appendRow([String(i)]) }
                    throw Stop()
                }
            }
            return try connection.execute("SELECT count(*) AS n FROM \(identifier: table)")[0].int("n")
        }
        #expect(count == 0)
    }

    @Test("a statement that is not COPY FROM STDIN is refused")
    func notACopy() async throws {
        let error = try await withSharedConnection { connection in
            #expect(throws: PostgresError.self) {
                try connection.copyIn("SELECT 1") { $0.appendRow(["1"]) }
            }
        }
        #expect(error?.kind == .copy)
    }

    @Test("COPY TO STDOUT gives back the rows byte for byte, ready for another COPY FROM STDIN")
    func copyOutThenIn() async throws {
        let source = uniqueName("copy_out"), target = uniqueName("copy_back")
        let (data, copied, same, error) = try await withSharedConnection { connection in
            try connection.execute("CREATE TEMP TABLE \(identifier: source) (id int PRIMARY KEY, text text NOT NULL, note text)")
            try connection.execute("CREATE TEMP TABLE \(identifier: target) (LIKE \(identifier: source))")
            try connection.copyIn("COPY \(identifier: source) FROM STDIN") { writer in for i in 0..<5_000 { writer.appendRow(Self.row(i)) } }
            let data = try connection.copyOut("COPY \(identifier: source) TO STDOUT")
            let copied = try connection.copyIn("COPY \(identifier: target) FROM STDIN") { $0.appendData(data) }
            let same = try connection.execute(
                "SELECT count(*) AS n FROM \(identifier: source) s JOIN \(identifier: target) t USING (id) WHERE s.text = t.text AND s.note IS NOT DISTINCT FROM t.note"
            ).first?.int("n")
            let error = #expect(throws: PostgresError.self) { try connection.copyOut("COPY \(identifier: "nowhere_" + source) TO STDOUT") }
            return (data, copied, same, error)
        }
        #expect(copied == 5_000)
        #expect(same == 5_000)
        #expect(data.filter { $0 == 0x0A }.count == 5_000)
        #expect(error?.message.contains("does not exist") == true)
    }

    @Test("text-format escaping of fields")
    func escaping() {
        var buffer: [UInt8] = []
        CopyInWriter.appendEscaped("a\tb\nc\rd\\e", to: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "a\\tb\\nc\\rd\\\\e")
    }
}
