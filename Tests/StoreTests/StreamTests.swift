import SQLCore
@testable import Store
import Testing

@Suite("rows read in place and streamed through a cursor")
struct StreamTests {
    /// Every row of `generate_series(1, total)` with a NULL every fifth row, read in batches.
    static func stream(total: Int, batch: Int, on connection: Connection) throws -> (values: [String?], batches: [Int]) {
        var values: [String?] = []
        var batches: [Int] = []
        try connection.transaction { c in
            try c.streamRows(
                "SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE 'v' || i END FROM generate_series(1, \(String(total))::int) i ORDER BY i",
                batchSize: batch
            ) { rows, keepReading in
                batches.append(rows.count)
                for row in 0..<rows.count {
                    #expect(rows.string(row, 0) == String(values.count + 1))
                    values.append(rows.string(row, 1))
                    keepReading()
                }
            }
        }
        return (values, batches)
    }

    @Test("every row once, in order, in batches; a last batch that fills up and one that does not")
    func everyRowInBatches() async throws {
        let conninfo = try await SharedDatabase.conninfo()
        try await withConnection(to: conninfo) { c in
            let uneven = try Self.stream(total: 11, batch: 4, on: c)
            #expect(uneven.batches == [4, 4, 3])
            #expect(uneven.values == (1...11).map { $0 % 5 == 0 ? nil : "v\($0)" })
            let even = try Self.stream(total: 8, batch: 4, on: c)
            #expect(even.batches == [4, 4])
            #expect(even.values.count == 8)
            let none = try Self.stream(total: 0, batch: 4, on: c)
            #expect(none.batches.isEmpty)
        }
    }

    @Test("a failing reader leaves the connection usable; a server error mid-stream is thrown")
    func failures() async throws {
        struct Stop: Error {}
        let conninfo = try await SharedDatabase.conninfo()
        try await withConnection(to: conninfo) { c in
            // The body fails while the next FETCH is in flight: its result is drained.
            #expect(throws: Stop.self) {
                try c.transaction { c in
                    try c.streamRows("SELECT i FROM generate_series(1, 100) i", batchSize: 10) { _, _ in throw Stop() }
                }
            }
            let answer = try c.execute("SELECT 41 + 1").first?.int(0)
            #expect(answer == 42)
            // Row 25 divides by zero: the third FETCH fails with the server's error.
            var seen = 0
            let error = #expect(throws: PostgresError.self) {
                try c.transaction { c in
                    try c.streamRows("SELECT 1 / (25 - i) FROM generate_series(1, 100) i", batchSize: 10) { rows, _ in seen += rows.count }
                }
            }
            #expect(error?.sqlState == "22012")
            #expect(seen == 20)
            let after = try c.execute("SELECT 1").count
            #expect(after == 1)
        }
    }

    @Test("withRawRows hands over the values as the server sent them")
    func rawRows() async throws {
        let conninfo = try await SharedDatabase.conninfo()
        try await withConnection(to: conninfo) { c in
            let values = try c.withRawRows("SELECT \("é <x>")::text, NULL::text, ''::text") { rows in
                (rows.count, rows.columnCount, rows.string(0, 0), rows.bytes(0, 1) == nil, rows.bytes(0, 2)?.count)
            }
            #expect(values.0 == 1 && values.1 == 3)
            #expect(values.2 == "é <x>")
            #expect(values.3)
            #expect(values.4 == 0)
        }
    }
}
