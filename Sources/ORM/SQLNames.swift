import CIM
import Foundation
public import SQLCore

/// How CIM names become PostgreSQL identifiers (the mapping psql users rely on):
///
/// - A class is a table in schema `cim`, a property a column; both named by the CIM name folded
///   to lower case (`CIM_EthernetPort` → `cim_ethernetport`, `DeviceID` → `deviceid`), so that
///   unquoted SQL in any case finds them: `SELECT DeviceID FROM CIM_EthernetPort`.
/// - A name longer than PostgreSQL's 63 bytes keeps its first 54 bytes (cut on a character
///   boundary), then `_` and 8 hexadecimal digits of the FNV-1a hash of the whole folded name:
///   deterministic, and distinct names stay distinct. A COMMENT records the full name.
/// - An identifier is quoted in generated SQL only when it must be: a PostgreSQL reserved word
///   (`order`, `user`, `select`, `default`, …) or a name that is not a plain lower-case word.
public enum SQLNames {
    /// The schema of the model's tables.
    public static let modelSchema = "cim"
    /// The schema of cimdb's own tables.
    public static let productSchema = "cimdb"
    /// The column every model table has for the instance's id (its row in `cimdb.instance`).
    /// CIM property names have no underscore in practice, so it does not meet a property
    /// (`Id` does exist in the DMTF schema); a collision is reported.
    public static let instanceIDColumn = "instance_id"
    /// ``instanceIDColumn``, for statements.
    public static let instanceID = SQLIdentifier(instanceIDColumn)
    /// PostgreSQL's limit on identifier length, in bytes.
    public static let maximumLength = 63

    /// The identifier (unquoted) for a CIM class or property name.
    public static func identifier(for cimName: String) -> String {
        let folded = foldedName(cimName)
        return shortened(folded)
    }

    /// `name` cut to 63 bytes with a hash suffix when it is longer, else `name` itself.
    public static func shortened(_ name: String) -> String {
        let bytes = Array(name.utf8)
        guard bytes.count > maximumLength else { return name }
        var cut = maximumLength - 9
        while cut > 0, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }  // stay on a character boundary
        let hash = fnv1a(bytes)
        let hex = String(hash, radix: 16)
        let suffix = String(repeating: "0", count: max(0, 8 - hex.count)) + hex
        return String(decoding: bytes[..<cut], as: UTF8.self) + "_" + suffix.suffix(8)
    }

    /// 32-bit FNV-1a: small, stable across runs and platforms (Swift's Hasher is seeded per process).
    static func fnv1a(_ bytes: [UInt8]) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in bytes {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        return hash
    }

    /// The table of a class, unquoted (`cim_ethernetport`).
    public static func table(for className: String) -> String { identifier(for: className) }

    /// The schema-qualified table of a class, quoted where needed (`cim.cim_ethernetport`).
    public static func qualifiedTable(for className: String) -> String {
        modelSchema + "." + quoted(table(for: className))
    }

    /// The column of a property, unquoted (`deviceid`).
    public static func column(for propertyName: String) -> String { identifier(for: propertyName) }

    /// An identifier as it must be written in SQL: bare when it is a plain lower-case word that
    /// is not reserved, else double-quoted with embedded quotes doubled.
    public static func quoted(_ identifier: String) -> String {
        if isPlain(identifier), !reservedWords.contains(identifier) { return identifier }
        return "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `[a-z_][a-z0-9_$]*` — what PostgreSQL accepts unquoted and does not fold.
    static func isPlain(_ identifier: String) -> Bool {
        guard let first = identifier.utf8.first, first == UInt8(ascii: "_") || (first >= 0x61 && first <= 0x7A) else { return false }
        return identifier.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_") || c == UInt8(ascii: "$")
        }
    }

    /// A string literal for generated DDL (comments, catalog rows): single-quoted, quotes doubled.
    /// Runtime values never go through this; they are bind parameters.
    public static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// PostgreSQL 15's reserved key words and those reserved except as function or type names
    /// (`pg_get_keywords()` categories R and T): neither may be a bare column or table name.
    public static let reservedWords: Set<String> = [
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "binary",
        "both", "case", "cast", "check", "collate", "collation", "column", "concurrently", "constraint", "create",
        "cross", "current_catalog", "current_date", "current_role", "current_schema", "current_time",
        "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end",
        "except", "false", "fetch", "for", "foreign", "freeze", "from", "full", "grant", "group", "having", "ilike",
        "in", "initially", "inner", "intersect", "into", "is", "isnull", "join", "lateral", "leading", "left",
        "like", "limit", "localtime", "localtimestamp", "natural", "not", "notnull", "null", "offset", "on",
        "only", "or", "order", "outer", "overlaps", "placing", "primary", "references", "returning", "right",
        "select", "session_user", "similar", "some", "symmetric", "table", "tablesample", "then", "to",
        "trailing", "true", "union", "unique", "user", "using", "variadic", "verbose", "when", "where", "window",
        "with",
    ]
}
