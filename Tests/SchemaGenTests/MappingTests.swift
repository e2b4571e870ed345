import CIM
import Foundation
import ModelStore
import ORM
import SchemaGen
import SQLCore
import Store
import StoreTesting
import Testing

/// Awkward models from users, and every CIM type, through real DDL and real rows.
@Suite struct MappingTests {
    static let longA = "A" + String(repeating: "VeryLongPropertyName", count: 5).dropFirst()  // 100 characters
    static let longB = String(longA.dropLast()) + "X"

    static let hostileMOF = """
        [Description ("A class with awkward names.")]
        class Acme_Odd {
          [Key, Description ("Reserved word.")] string Order;
          string User;
          uint32 Select;
          boolean Default;
          string \(longA);
          string \(longB);
          string \(String(repeating: "Z", count: 70))Column;
        };
        class Acme_OddChild : Acme_Odd {
          [Override ("ORDER"), MaxLen (8)] string order;
          string Table;
        };
        class Acme_\(String(repeating: "Long", count: 25)) : Acme_Odd {
          string Extra;
        };
        """

    @Test func hostileNamesProduceValidDDL() async throws {
        let model = try compileModel(Self.hostileMOF)
        let ddl = try DDLGenerator(model: model, source: "hostile.mof").createStatements()
        #expect(ddl.contains("\"order\" text NOT NULL"))
        #expect(ddl.contains("\"user\" text"))
        #expect(ddl.contains("\"select\" bigint"))
        #expect(ddl.contains("\"default\" boolean"))
        let pool = try await freshDatabase(defaultModel: false)
        defer { Task { await pool.close() } }
        try await pool.withConnection { connection in
            try install(model, on: connection)
            let store = InstanceStore(catalog: try ModelCatalog.load(from: connection))
            try store.add(
                className: "ACME_ODD",
                assignments: [
                    ("order", "o1"), ("User", "u"), ("SELECT", "7"), ("Default", "true"),
                    (Self.longA, "a"), (Self.longB, "b"),
                ], on: connection)
            try store.add(className: "Acme_OddChild", assignments: [("Order", "short"), ("Table", "t")], on: connection)
            #expect(throws: InstanceError.self) {
                try store.add(className: "Acme_OddChild", assignments: [("Order", "much too long")], on: connection)
            }
            let longTable = SQLNames.table(for: "Acme_" + String(repeating: "Long", count: 25))
            #expect(longTable.utf8.count <= 63)
            try store.add(className: "Acme_" + String(repeating: "long", count: 25), assignments: [("Order", "o2"), ("Extra", "e")], on: connection)
            // Users type the CIM names unquoted (reserved words need quotes, as in any SQL).
            let rows = try connection.execute(
                "SELECT \"order\", \"user\", \"select\", \"default\", \(identifier: SQLNames.column(for: Self.longA)) AS a, \(identifier: SQLNames.column(for: Self.longB)) AS b FROM Acme_Odd ORDER BY \"order\""
            )
            #expect(rows.map { $0["order"] } == ["o1", "o2", "short"])
            #expect(rows.first?["a"] == "a" && rows.first?["b"] == "b")
            // The comment records the full name of a shortened column.
            let comment = try connection.execute(
                "SELECT col_description('cim.acme_odd'::regclass, attnum) AS c FROM pg_attribute WHERE attrelid = 'cim.acme_odd'::regclass AND attname = \(SQLNames.column(for: Self.longA))"
            ).first?["c"]
            #expect(comment?.contains("CIM name \(Self.longA)") == true)
        }
    }

    @Test func everyCIMTypeMapsLosslessly() async throws {
        let model = try compileModel(
            """
            class Acme_Types {
              [Key] string Name;
              uint8 U8; sint8 S8; uint16 U16; sint16 S16; uint32 U32; sint32 S32; uint64 U64; sint64 S64;
              real32 R32; real64 R64; boolean B; char16 C; datetime When; datetime Span; object O;
              uint64 Many[]; string Words[]; [MaxLen (3)] string Short;
            };
            """)
        let pool = try await freshDatabase(defaultModel: false)
        defer { Task { await pool.close() } }
        try await pool.withConnection { connection in
            try install(model, on: connection)
            let store = InstanceStore(catalog: try ModelCatalog.load(from: connection))
            let extremes: [(String, String)] = [
                ("Name", "max"), ("U8", "255"), ("S8", "-128"), ("U16", "65535"), ("S16", "-32768"), ("U32", "4294967295"),
                ("S32", "-2147483648"), ("U64", "18446744073709551615"), ("S64", "-9223372036854775808"), ("R32", "1.5"),
                ("R64", "2.718281828459045"), ("B", "false"), ("C", "é"), ("When", "20240229235959.999999-300"),
                ("Span", "00000002030405.000000:000"), ("O", "instance of X {};"), ("Many", "{18446744073709551615,NULL,0}"),
                ("Words", #"{"a,b",NULL,"quote\"d"}"#), ("Short", "abc"),
            ]
            let (_, path) = try store.add(className: "Acme_Types", assignments: extremes, on: connection)
            let instance = try #require(try store.find(path, on: connection))
            let values = Dictionary(uniqueKeysWithValues: instance.values.map { ($0.name, $0.value) })
            #expect(values["U64"] == .unsigned(UInt64.max))
            #expect(values["S64"] == .signed(Int64.min))
            #expect(values["U32"] == .unsigned(4_294_967_295))
            #expect(values["R64"] == .real(2.718281828459045))
            #expect(values["C"] == .char16(0xE9))
            #expect(values["Many"] == .array([.unsigned(UInt64.max), .null, .unsigned(0)]))
            #expect(values["Words"] == .array([.string("a,b"), .null, .string("quote\"d")]))
            #expect(values["When"] == .datetime("20240229235959.999999-300"))
            let generated = try connection.execute(
                "SELECT when_time AT TIME ZONE 'UTC' AS t, span_interval AS i, span_time, when_interval FROM Acme_Types"
            ).first
            #expect(generated?["t"] == "2024-03-01 04:59:59.999999")
            #expect(generated?["i"] == "2 days 03:04:05")
            #expect(generated?["span_time"] == nil && generated?["when_interval"] == nil)
            // Out of range and too long: refused with the class, property and value named.
            for (property, bad, message) in [
                ("U8", "256", "value out of range for Acme_Types.U8: 256 (uint8 is 0…255)"),
                ("S8", "-129", "value out of range for Acme_Types.S8: -129 (sint8 is -128…127)"),
                ("U64", "18446744073709551616", "value out of range for Acme_Types.U64: 18446744073709551616 (uint64 is 0…18446744073709551615)"),
                ("Short", "abcd", "value too long for Acme_Types.Short: 4 characters, MaxLen is 3"),
                (
                    "When", "yesterday",
                    "invalid datetime for Acme_Types.When: \"yesterday\" (expected yyyymmddhhmmss.mmmmmmsutc or ddddddddhhmmss.mmmmmm:000)"
                ),
            ] {
                do {
                    try store.add(className: "Acme_Types", assignments: [("Name", "bad-" + property), (property, bad)], on: connection)
                    Issue.record("\(property)=\(bad) was accepted")
                } catch {
                    #expect("\(error)" == message)
                }
            }
            // The table's CHECK constraints hold the same line for SQL writers.
            try connection.execute("INSERT INTO cimdb.instance (id, class_name, path) VALUES (9000, 'Acme_Types', 'raw')")
            for (column, value) in [
                ("u8", "256"), ("u16", "-1"), ("u32", "4294967296"), ("u64", "-1"), ("c", "ab"), ("short", "abcd"), ("\"when\"", "tomorrow"),
            ] {
                #expect(throws: PostgresError.self, "\(column)=\(value)") {
                    try connection.transaction { c in
                        try c.execute("INSERT INTO cim.acme_types (instance_id, name, \(SQL.verbatim(column))) VALUES (9000, 'raw', \(value))")
                    }
                }
            }
        }
    }
}
