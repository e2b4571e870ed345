public import CIM
import ORM

/// The PostgreSQL shape of one CIM class: its table, the columns it declares (its superclass's
/// table provides the rest through table inheritance), and its constraints, indexes and
/// comments. Derived from the resolved class and its superclass; shared by the DDL generator
/// and schema evolution.
public struct TableLayout: Sendable {
    public var className: String
    /// Unquoted table name in schema `cim`.
    public var table: String
    public var parentTable: String?
    public var isAbstract: Bool
    /// Columns this table declares: new ones, and inherited ones it redeclares (a property that
    /// became a key gets NOT NULL here).
    public var columns: [Column]
    public var checks: [Check]
    /// Every reference column (inherited ones too): foreign keys and indexes are not inherited.
    public var referenceColumns: [String]
    /// Key columns in the class's resolved order; UNIQUE for concrete classes.
    public var keyColumns: [String]
    /// Comments for the columns this table declares, and for inherited columns whose comment
    /// differs from the parent's (the others are copied with cimdb.inherit_column_comments).
    public var columnComments: [(column: String, comment: String)]
    public var tableComment: String

    public struct Column: Sendable {
        public var name: String
        public var sqlType: String
        public var notNull: Bool
        /// A generated column: the expression it is computed from.
        public var generatedFrom: String?
        /// True when the column comes from the superclass table and is restated here.
        public var inherited: Bool
    }

    public struct Check: Sendable {
        public var name: String
        public var expression: String
    }
}

/// A model that cannot be represented in PostgreSQL as it stands (a name collision after
/// shortening, say).
public struct SchemaError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension TableLayout {
    /// Suffixes of the generated columns that expose a datetime column as timestamptz and interval.
    public static let timeSuffix = "_time"
    public static let intervalSuffix = "_interval"

    /// The layout of `cls`, whose superclass (if any) is `superclass`.
    public init(_ cls: ClassDeclaration, superclass: ClassDeclaration?) throws(SchemaError) {
        className = cls.name
        table = SQLNames.table(for: cls.name)
        parentTable = superclass.map { SQLNames.table(for: $0.name) }
        isAbstract = cls.isAbstract
        columns = []
        checks = []
        referenceColumns = []
        keyColumns = []
        columnComments = superclass == nil ? [(SQLNames.instanceIDColumn, "The instance's stable id: its row in cimdb.instance.")] : []
        tableComment = "\(cls.name): " + (cls.description ?? "(no description)")

        var used: [String: String] = [SQLNames.instanceIDColumn: "the instance id"]
        if superclass == nil {
            columns.append(Column(name: SQLNames.instanceIDColumn, sqlType: "bigint", notNull: true, generatedFrom: nil, inherited: false))
        }
        for property in cls.properties {
            let column = SQLNames.column(for: property.name)
            if let other = used[column] {
                throw SchemaError("class \(cls.name): property \(property.name) maps to column \(column), already used by \(other)")
            }
            used[column] = property.name
            let inheritedProperty = superclass?.property(named: property.name)
            let quoted = SQLNames.quoted(column)
            let type = property.columnType

            if let inheritedProperty {
                // The column exists in the parent table. Restate it only to add NOT NULL.
                if property.isKey, !inheritedProperty.isKey {
                    columns.append(Column(name: column, sqlType: type.sql, notNull: true, generatedFrom: nil, inherited: true))
                }
                if let maxLength = property.maxLength, maxLength != inheritedProperty.maxLength {
                    for check in type.checks(column: quoted, maxLength: maxLength) where check.name == "maxlen" {
                        checks.append(Check(name: SQLNames.shortened("\(column)_maxlen_\(maxLength)"), expression: check.expression))
                    }
                }
            } else {
                columns.append(Column(name: column, sqlType: type.sql, notNull: property.isKey, generatedFrom: nil, inherited: false))
                for check in type.checks(column: quoted, maxLength: property.maxLength) {
                    checks.append(Check(name: SQLNames.shortened("\(column)_\(check.name)"), expression: check.expression))
                }
                if property.type == .datetime, !property.isArray {
                    for (suffix, function) in [(Self.timeSuffix, "cimdb.cim_timestamp"), (Self.intervalSuffix, "cimdb.cim_interval")] {
                        let generated = SQLNames.shortened(column + suffix)
                        if let other = used[generated] {
                            throw SchemaError(
                                "class \(cls.name): the \(suffix) column of \(property.name) would be \(generated), already used by \(other)")
                        }
                        used[generated] = "\(property.name) (generated)"
                        columns.append(
                            Column(
                                name: generated, sqlType: suffix == Self.timeSuffix ? "timestamptz" : "interval",
                                notNull: false, generatedFrom: "\(function)(\(quoted))", inherited: false))
                    }
                }
            }
            if property.isReference { referenceColumns.append(column) }
            if property.isKey { keyColumns.append(column) }
            let comment = Self.comment(for: property)
            if let inheritedProperty, Self.comment(for: inheritedProperty) == comment { continue }
            columnComments.append((column, comment))
            if property.type == .datetime, !property.isArray, inheritedProperty == nil {
                columnComments.append(
                    (SQLNames.shortened(column + Self.timeSuffix), "\(property.name) as a timestamp (NULL for intervals and wildcards)."))
                columnComments.append(
                    (SQLNames.shortened(column + Self.intervalSuffix), "\(property.name) as an interval (NULL for timestamps and wildcards)."))
            }
        }
    }

    /// A column comment: the property's Description, with its CIM type and, where the column
    /// name had to be shortened or is an id, what it stands for.
    static func comment(for property: Property) -> String {
        var notes: [String] = []
        let column = SQLNames.column(for: property.name)
        if column != foldedName(property.name) { notes.append("CIM name \(property.name)") }
        var type = property.type.rawValue + (property.isArray ? "[]" : "")
        if let referenceClass = property.referenceClass {
            type = "\(referenceClass) REF: the id of the referenced instance in cimdb.instance"
        }
        if property.isKey { notes.append("key") }
        notes.append(type)
        let description = property.description ?? ""
        return description + (description.isEmpty ? "" : " ") + "(" + notes.joined(separator: "; ") + ")"
    }
}
