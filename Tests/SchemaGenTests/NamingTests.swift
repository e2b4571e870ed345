import CIM
import Foundation
import ORM
import SchemaGen
import Testing

@Suite struct NamingTests {
    @Test func tablesAndColumnsAreFoldedCIMNames() {
        #expect(SQLNames.table(for: "CIM_EthernetPort") == "cim_ethernetport")
        #expect(SQLNames.column(for: "DeviceID") == "deviceid")
        #expect(SQLNames.qualifiedTable(for: "CIM_EthernetPort") == "cim.cim_ethernetport")
    }

    @Test func reservedWordsAndOddNamesAreQuoted() {
        for word in ["order", "user", "select", "default", "table", "left"] {
            #expect(SQLNames.quoted(SQLNames.column(for: word.capitalized)) == "\"\(word)\"")
        }
        #expect(SQLNames.quoted("speed") == "speed")
        #expect(SQLNames.quoted("größe") == "\"größe\"")
        #expect(SQLNames.quoted("a\"b") == "\"a\"\"b\"")
    }

    @Test func longNamesAreShortenedDeterministicallyAndDistinctly() {
        let a = String(repeating: "VeryLongPropertyName", count: 5)  // 100 characters
        let b = String(repeating: "VeryLongPropertyName", count: 4) + "VeryLongPropertyNamf"
        let sa = SQLNames.column(for: a), sb = SQLNames.column(for: b)
        #expect(sa.utf8.count <= 63 && sb.utf8.count <= 63)
        #expect(sa != sb)
        #expect(sa == SQLNames.column(for: a))
        #expect(sa.hasPrefix(String(foldedName(a).prefix(54)) + "_"))
        // A cut never splits a multi-byte character.
        let unicode = String(repeating: "é", count: 40)
        #expect(SQLNames.shortened(unicode).utf8.count <= 63)
        #expect(SQLNames.shortened(unicode).hasSuffix(SQLNames.shortened(unicode).suffix(9)))
        #expect(SQLNames.shortened(unicode).unicodeScalars.allSatisfy { $0 != "\u{FFFD}" })
    }

    @Test func aPropertyNamedLikeTheIdColumnIsReported() throws {
        let model = try compileModel("class Acme_Thing { [Key] string Instance_ID; };")
        #expect(throws: SchemaError.self) { try DDLGenerator(model: model, source: "t").createStatements() }
    }

    @Test func columnTypesCoverEveryCIMType() {
        #expect(ColumnType(type: .uint64, isArray: false).sql == "numeric(20,0)")
        #expect(ColumnType(type: .uint32, isArray: true).sql == "bigint[]")
        #expect(ColumnType(type: .sint8, isArray: false).checkedRange! == ("-128", "127"))
        #expect(ColumnType(type: .sint64, isArray: false).checkedRange == nil)
        for type in DataType.allCases { #expect(!ColumnType(type: type, isArray: false).sql.isEmpty) }
    }
}
