import ArgumentParser
import CommandSupport
import Foundation
import SQLCore
import Store

/// `cimdb query "SQL"`: a quick answer without psql.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run one SQL statement and print its rows (an aligned table, CSV or JSON).",
        discussion: """
            The statement runs in a read-only transaction: use psql (cimdb db psql) to change \
            things. NULL prints as an empty cell in the table and CSV, as null in JSON; JSON \
            values are strings as PostgreSQL prints them.

            Examples:
              cimdb query "SELECT node, cpus, memory_gib FROM report.node_summary ORDER BY memory_gib"
              cimdb query --format csv "SELECT * FROM report.recent_changes LIMIT 100" > changes.csv
              cimdb query --format json "SELECT class_name, instances FROM report.instance_counts WHERE instances > 0"
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json
    }

    @OptionGroup var database: DatabaseOptions

    @Option(help: "table, csv or json.") var format: Format = .table

    @Argument(help: "The SQL statement.") var sql: String

    func run() async throws {
        try await reportingErrors {
            let connection = try await database.connect()
            defer { connection.close() }
            let result = try connection.transaction { c in
                try c.execute("SET TRANSACTION READ ONLY")
                return try c.execute(.verbatim(sql))  // the user's own statement, in a read-only transaction
            }
            let rows = result.map { row in result.columns.indices.map { row.string($0) } }
            switch format {
            case .table: print(Self.table(columns: result.columns, rows: rows), terminator: "")
            case .csv: print(Self.csv(columns: result.columns, rows: rows), terminator: "")
            case .json: print(try Self.json(columns: result.columns, rows: rows))
            }
        }
    }

    /// Columns padded to their widest cell (in characters), a rule under the header, the row
    /// count at the end — psql's layout without the borders.
    static func table(columns: [String], rows: [[String?]]) -> String {
        guard !columns.isEmpty else { return "(\(rows.count) rows)\n" }
        let cells = rows.map { $0.map { ($0 ?? "").replacingOccurrences(of: "\n", with: "\\n") } }
        var widths = columns.map(\.count)
        for row in cells { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ values: [String]) -> String {
            zip(values, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " | ")
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
        }
        var out = line(columns)
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-") + "\n"
        for row in cells { out += line(row) }
        out += "(\(rows.count) row\(rows.count == 1 ? "" : "s"))\n"
        return out
    }

    /// RFC 4180: a header line, fields quoted when they hold a comma, quote or line break.
    static func csv(columns: [String], rows: [[String?]]) -> String {
        func field(_ value: String?) -> String {
            guard let value else { return "" }
            guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return ([columns.map(field)] + rows.map { $0.map(field) }).map { $0.joined(separator: ",") + "\r\n" }.joined()
    }

    /// An array of objects, one per row, keys in column order.
    static func json(columns: [String], rows: [[String?]]) throws -> String {
        var out = "["
        for (r, row) in rows.enumerated() {
            out += r == 0 ? "\n  {" : ",\n  {"
            for (i, value) in row.enumerated() {
                out += (i == 0 ? "" : ", ") + (try quote(columns[i])) + ": " + (try value.map(quote) ?? "null")
            }
            out += "}"
        }
        return out + (rows.isEmpty ? "]" : "\n]")
    }

    static func quote(_ text: String) throws -> String {
        String(decoding: try JSONEncoder().encode(text), as: UTF8.self)
    }
}
