public import CIM
public import ORM

/// Schema evolution: the statements that take a database from its installed model (the
/// catalog) to a newly compiled one without losing data. New classes become tables, new
/// properties columns (added to the table of the class that introduces them; table
/// inheritance passes them to the subclasses). Changed descriptions update the comments.
///
/// Destructive changes — a class or property that disappears, a changed type, arrayness,
/// key or superclass — would lose data and are refused unless the caller allows them; then
/// they are carried out explicitly (tables and columns are dropped and created anew).
public struct EvolutionPlan: Sendable {
    public struct Change: Sendable, CustomStringConvertible {
        public var summary: String
        public var isDestructive: Bool
        public var description: String { (isDestructive ? "! " : "+ ") + summary }
    }

    public var changes: [Change] = []
    /// The statements, in order; catalog rewrite included. Empty when nothing changes.
    public var statements: [String] = []

    public var isEmpty: Bool { changes.isEmpty }
    public var isDestructive: Bool { changes.contains { $0.isDestructive } }
    public var destructiveChanges: [Change] { changes.filter(\.isDestructive) }
    public var script: String { statements.joined(separator: "\n") }

    /// A one-line summary for the change log.
    public var summary: String {
        let added = changes.filter { !$0.isDestructive }.count
        let destructive = destructiveChanges.count
        return "\(added) additive and \(destructive) destructive change\(added + destructive == 1 ? "" : "s")"
    }
}

public struct Evolution: Sendable {
    public var installed: ModelCatalog
    public var target: Model
    public var source: String

    public init(installed: ModelCatalog, target: Model, source: String) {
        self.installed = installed
        self.target = target
        self.source = source
    }

    public func plan() throws(SchemaError) -> EvolutionPlan {
        var plan = EvolutionPlan()
        var rebuilt: Set<NameKey> = []
        let generator = DDLGenerator(model: target, source: source)
        let layouts = try generator.layouts()

        // Classes that disappear, and classes whose superclass changed (rebuilt from scratch).
        for old in installed.classes.sorted(by: { $0.depth > $1.depth }) {
            guard let new = target.class(named: old.name) else {
                plan.changes.append(.init(summary: "drop class \(old.name) and its instances (table \(old.table))", isDestructive: true))
                plan.statements += Self.dropClass(old)
                continue
            }
            if !sameSuperclass(old.superclass, new.superclass) {
                plan.changes.append(
                    .init(
                        summary:
                            "class \(old.name): superclass \(old.superclass ?? "none") → \(new.superclass ?? "none"); the table is rebuilt and its instances dropped",
                        isDestructive: true))
                plan.statements += Self.dropClass(old)
                rebuilt.insert(NameKey(old.name))
            }
        }
        // Rebuilding a class rebuilds its subclasses (their tables inherit from it).
        for cls in target.classes where !rebuilt.contains(NameKey(cls.name)) && installed.class(named: cls.name) != nil {
            if cls.superclass.map({ rebuilt.contains(NameKey($0)) }) == true {
                rebuilt.insert(NameKey(cls.name))
                plan.changes.append(
                    .init(summary: "class \(cls.name) is rebuilt with its superclass; its instances are dropped", isDestructive: true))
                if let old = installed.class(named: cls.name) { plan.statements += Self.dropClass(old) }
            }
        }

        for (cls, layout) in zip(target.classes, layouts) {
            guard let old = installed.class(named: cls.name), !rebuilt.contains(NameKey(cls.name)) else {
                plan.changes.append(.init(summary: "add class \(cls.name) (table \(layout.table))", isDestructive: false))
                plan.statements.append(DDLGenerator.createTable(layout))
                continue
            }
            let superclass = cls.superclass.flatMap { target.class(named: $0) }
            plan.statements += try evolveProperties(cls, old: old, superclass: superclass, layout: layout, plan: &plan)
        }
        guard !plan.changes.isEmpty || catalogDiffers() else { return plan }
        // The catalog is rewritten as a whole: it then says exactly what the new model says.
        plan.statements.append("DELETE FROM cimdb.model_class;")
        plan.statements.append(CatalogRows(model: target).insertStatements())
        return plan
    }

    func sameSuperclass(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let a?, let b?): sameName(a, b)
        default: false
        }
    }

    /// Whether only catalog data (descriptions, ValueMaps, class flags) changed.
    func catalogDiffers() -> Bool {
        ModelCatalog(model: target).classes != installed.classes
    }

    func evolveProperties(
        _ cls: ClassDeclaration, old: ClassMapping, superclass: ClassDeclaration?, layout: TableLayout, plan: inout EvolutionPlan
    ) throws(SchemaError) -> [String] {
        var statements: [String] = []
        let table = SQLNames.qualifiedTable(for: cls.name)
        for property in cls.properties {
            let introducedHere = superclass?.property(named: property.name) == nil
            guard let was = old.property(named: property.name) else {
                guard introducedHere else { continue }  // the superclass's table adds the column
                if property.isKey {
                    plan.changes.append(
                        .init(summary: "add key property \(cls.name).\(property.name): existing instances have no value for it", isDestructive: true))
                }
                plan.changes.append(
                    .init(
                        summary: "add property \(cls.name).\(property.name) (\(property.type.rawValue)\(property.isArray ? "[]" : ""))",
                        isDestructive: false))
                statements += Self.addColumn(property, table: table, layout: layout)
                continue
            }
            guard introducedHere else { continue }
            if was.type != property.type || was.isArray != property.isArray {
                plan.changes.append(
                    .init(
                        summary:
                            "change the type of \(cls.name).\(property.name) from \(was.type.rawValue)\(was.isArray ? "[]" : "") to \(property.type.rawValue)\(property.isArray ? "[]" : ""); its values are dropped",
                        isDestructive: true))
                statements.append("ALTER TABLE \(table) DROP COLUMN \(SQLNames.quoted(was.column)) CASCADE;")
                statements += Self.addColumn(property, table: table, layout: layout)
            } else if was.isKey != property.isKey {
                plan.changes.append(
                    .init(
                        summary: "\(cls.name).\(property.name) \(property.isKey ? "becomes" : "stops being") a key: instance identities change",
                        isDestructive: true))
            } else if was.maxLength != property.maxLength {
                plan.changes.append(
                    .init(
                        summary:
                            "MaxLen of \(cls.name).\(property.name): \(was.maxLength.map(String.init) ?? "none") → \(property.maxLength.map(String.init) ?? "none")",
                        isDestructive: false))
                let name = SQLNames.shortened(was.column + "_maxlen")
                statements.append("ALTER TABLE \(table) DROP CONSTRAINT IF EXISTS \(SQLNames.quoted(name));")
                for check in property.columnType.checks(column: SQLNames.quoted(was.column), maxLength: property.maxLength)
                where check.name == "maxlen" {
                    statements.append("ALTER TABLE \(table) ADD CONSTRAINT \(SQLNames.quoted(name)) CHECK (\(check.expression));")
                }
            }
        }
        for was in old.properties where cls.property(named: was.name) == nil && sameName(was.classOrigin, cls.name) {
            plan.changes.append(.init(summary: "drop property \(cls.name).\(was.name) and its values", isDestructive: true))
            statements.append("ALTER TABLE \(table) DROP COLUMN \(SQLNames.quoted(was.column)) CASCADE;")
        }
        // Comments: restate the table's when anything described changed.
        let newMapping = ModelCatalog(model: target).class(named: cls.name)
        if newMapping?.description != old.description || newMapping?.properties.map(\.description) != old.properties.map(\.description) {
            statements.append("COMMENT ON TABLE \(table) IS \(SQLNames.literal(layout.tableComment));")
            for property in cls.properties {
                statements.append(
                    "COMMENT ON COLUMN \(table).\(SQLNames.quoted(SQLNames.column(for: property.name))) IS \(SQLNames.literal(TableLayout.comment(for: property)));"
                )
            }
        }
        return statements
    }

    static func addColumn(_ property: Property, table: String, layout: TableLayout) -> [String] {
        let column = SQLNames.column(for: property.name)
        var statements: [String] = []
        for c in layout.columns where c.name == column || c.generatedFrom?.contains("(\(SQLNames.quoted(column)))") == true {
            var definition = "\(SQLNames.quoted(c.name)) \(c.sqlType)"
            if let expression = c.generatedFrom { definition += " GENERATED ALWAYS AS (\(expression)) STORED" }
            statements.append("ALTER TABLE \(table) ADD COLUMN \(definition);")
        }
        for check in layout.checks where check.name.hasPrefix(column + "_") {
            statements.append("ALTER TABLE \(table) ADD CONSTRAINT \(SQLNames.quoted(check.name)) CHECK (\(check.expression));")
        }
        if property.isReference {
            statements.append(
                "ALTER TABLE \(table) ADD CONSTRAINT \(SQLNames.quoted(SQLNames.shortened(column + "_fkey"))) FOREIGN KEY (\(SQLNames.quoted(column))) REFERENCES cimdb.instance (id) ON DELETE CASCADE;"
            )
        }
        statements.append("COMMENT ON COLUMN \(table).\(SQLNames.quoted(column)) IS \(SQLNames.literal(TableLayout.comment(for: property)));")
        return statements
    }

    /// Drops a class's table and its instances' registry rows (their associations go by cascade).
    static func dropClass(_ cls: ClassMapping) -> [String] {
        [
            "DELETE FROM cimdb.instance WHERE class_name = \(SQLNames.literal(cls.name));",
            "DROP TABLE IF EXISTS \(cls.qualifiedTable) CASCADE;",
        ]
    }
}
