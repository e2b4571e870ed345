import Foundation
public import Inventory
import Yams

/// The task facility's access configuration (`cimdb access apply FILE`), as objects the
/// database stores one by one: users, roles, tools, groups, authorizations, limits.
///
/// Each object is a kind, a name and a definition in the exact JSON shape
/// `cimdb.put_access` takes and `cimdb.access_configuration()` returns, defaults filled in, so
/// that the file and the database compare as values and applying twice changes nothing.
public struct AccessObject: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable, Comparable {
        // In the order they are put: what refers to others after what it refers to.
        case user, tool, role, group, limits, authorization

        public static func < (a: Kind, b: Kind) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    public var kind: Kind
    public var name: String
    /// Canonical JSON (sorted keys) of the definition.
    public var definition: String

    public init(kind: Kind, name: String, definition: [String: Any]) {
        self.kind = kind
        self.name = name
        self.definition = Self.canonical(definition)
    }

    public init(kind: Kind, name: String, canonicalDefinition: String) {
        self.kind = kind
        self.name = name
        self.definition = canonicalDefinition
    }

    public var description: String { "\(kind.rawValue) \(name)" }

    static func canonical(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// An authorization's name: `user/role/node:NAME` or `user/role/group:NAME`.
    static func authorizationName(user: String, role: String, node: String?, group: String?) -> String {
        "\(user)/\(role)/" + (node.map { "node:\($0)" } ?? "group:\(group ?? "")")
    }
}

/// What `cimdb access apply` changes: objects to put (new or changed) and to delete.
public struct AccessDifference: Sendable, Equatable {
    public enum Change: Sendable, Equatable, CustomStringConvertible {
        case add(AccessObject)
        case change(from: AccessObject, to: AccessObject)
        case delete(AccessObject)

        public var description: String {
            switch self {
            case .add(let o): "+ \(o.kind.rawValue) \(o.name): \(o.definition)"
            case .change(let a, let b): "~ \(b.kind.rawValue) \(b.name): \(a.definition) → \(b.definition)"
            case .delete(let o): "- \(o.kind.rawValue) \(o.name)"
            }
        }
    }

    public var changes: [Change]
    public var isEmpty: Bool { changes.isEmpty }

    /// From what is (`current`) to what the file says (`wanted`). Puts come in dependency order
    /// (users, tools, roles, groups, limits, authorizations), deletes in the reverse one. Limits
    /// are never deleted: a file without them sets the defaults.
    public init(from current: [AccessObject], to wanted: [AccessObject]) {
        let have = Dictionary(current.map { (AccessKey($0), $0) }, uniquingKeysWith: { a, _ in a })
        let want = Dictionary(wanted.map { (AccessKey($0), $0) }, uniquingKeysWith: { a, _ in a })
        var puts: [Change] = []
        for object in wanted.sorted(by: AccessKey.order) {
            if let old = have[AccessKey(object)] {
                if old.definition != object.definition { puts.append(.change(from: old, to: object)) }
            } else {
                puts.append(.add(object))
            }
        }
        let deletes: [Change] = current.filter { want[AccessKey($0)] == nil && $0.kind != .limits }
            .sorted(by: AccessKey.order).reversed().map { .delete($0) }
        changes = deletes + puts
    }
}

struct AccessKey: Hashable {
    var kind: AccessObject.Kind
    var name: String
    init(_ o: AccessObject) { kind = o.kind; name = o.name }

    static func order(_ a: AccessObject, _ b: AccessObject) -> Bool {
        (a.kind, a.name) < (b.kind, b.name)
    }
}

/// Reads the access file: every problem with its line and column, all at once.
///
/// ```yaml
/// users:          [{name: alice, trusted: false}]
/// roles:          [{name: backup, tools: [df, collect]}]
/// tools:
///   - {name: df, command: [df, -h, "{path}"], parameters: [{name: path, required: true}],
///      files: [{source: /etc/hosts, destination: hosts}], timeout: 60s, output_cap: 1MiB}
///   - {name: roster, node: head01, shell: 'echo "$CIMDB_TARGETS" | wc -l'}
/// groups:         [{name: rack1, nodes: ["n[01-32]"]}, {name: bigmem, where: "memory_bytes >= 512 * 2^30"}]
/// authorizations: [{user: alice, role: backup, group: rack1}, {user: alice, role: backup, node: n40}]
/// limits:         {tasks: 10, targets: 16, output_retention: 90d}
/// ```
public struct AccessFile {
    public var file: String
    var errors: [ConfigurationError] = []

    public init(file: String) { self.file = file }

    public static func load(_ path: String) throws(ConfigurationErrors) -> [AccessObject] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationErrors([ConfigurationError(file: path, "cannot read the file (or it is not UTF-8)")])
        }
        var reader = AccessFile(file: path)
        return try reader.parse(text)
    }

    public mutating func parse(_ yaml: String) throws(ConfigurationErrors) -> [AccessObject] {
        errors = []
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                throw ConfigurationErrors([ConfigurationError(file: file, line: mark.line, column: mark.column, "invalid YAML: \(problem)")])
            default:
                throw ConfigurationErrors([ConfigurationError(file: file, "invalid YAML: \(error)")])
            }
        } catch {
            throw ConfigurationErrors([ConfigurationError(file: file, "invalid YAML: \(error)")])
        }
        var objects: [AccessObject] = []
        var limits: [String: Any] = ["tasks": 10, "targets": 16, "output_retention": "90 days"]
        guard let root else { return [AccessObject(kind: .limits, name: "limits", definition: limits)] }
        guard let top = root.mapping else {
            throw ConfigurationErrors([
                ConfigurationError(
                    file: file, line: root.mark?.line, column: root.mark?.column,
                    "the access file must be a mapping (users:, roles:, tools:, groups:, authorizations:, limits:)")
            ])
        }
        let allowed = ["users", "roles", "tools", "groups", "authorizations", "limits"]
        var seen: Set<String> = []
        for (keyNode, value) in top {
            guard let key = keyNode.scalar?.string, allowed.contains(key) else {
                error(keyNode, "unknown key \(keyNode.scalar?.string ?? "?") (expected \(allowed.joined(separator: ", ")))")
                continue
            }
            if !seen.insert(key).inserted { error(keyNode, "\(key) appears twice") }
            if key == "limits" {
                if let l = self.limits(value) { limits = l }
                continue
            }
            guard let list = value.sequence else {
                if value.scalar?.string != "" && value.scalar?.string != nil || value.mapping != nil {
                    error(value, "\(key) must be a list (- {name: …})")
                }
                continue
            }
            for item in list {
                guard let object = self.object(key, item) else { continue }
                if objects.contains(where: { $0.kind == object.kind && $0.name == object.name }) {
                    error(item, "\(object.kind.rawValue) \(object.name) appears twice")
                    continue
                }
                objects.append(object)
            }
        }
        objects.append(AccessObject(kind: .limits, name: "limits", definition: limits))
        check(objects, root: root)
        if !errors.isEmpty {
            throw ConfigurationErrors(errors.sorted { ($0.line ?? 0, $0.column ?? 0) < ($1.line ?? 0, $1.column ?? 0) })
        }
        return objects
    }

    mutating func error(_ node: Node?, _ message: String) {
        errors.append(ConfigurationError(file: file, line: node?.mark?.line, column: node?.mark?.column, message))
    }

    /// References between objects: a role's tools, an authorization's user, role and group.
    mutating func check(_ objects: [AccessObject], root: Node) {
        let names = { (kind: AccessObject.Kind) in Set(objects.filter { $0.kind == kind }.map(\.name)) }
        let tools = names(.tool), roles = names(.role), groups = names(.group), users = names(.user)
        for object in objects {
            guard let definition = try? JSONSerialization.jsonObject(with: Data(object.definition.utf8)) as? [String: Any] else { continue }
            switch object.kind {
            case .role:
                for tool in definition["tools"] as? [String] ?? [] where !tools.contains(tool) {
                    error(root, "role \(object.name) holds tool \(tool), which is not among the tools")
                }
            case .authorization:
                if let user = definition["user"] as? String, !users.contains(user) {
                    error(root, "authorization \(object.name): user \(user) is not among the users")
                }
                if let role = definition["role"] as? String, !roles.contains(role) {
                    error(root, "authorization \(object.name): role \(role) is not among the roles")
                }
                if let group = definition["group"] as? String, !groups.contains(group) {
                    error(root, "authorization \(object.name): group \(group) is not among the groups")
                }
            default: break
            }
        }
    }

    func fields(_ node: Node, allowed: [String], what: String) -> (values: [String: Node], problems: [(Node, String)]) {
        var values: [String: Node] = [:]
        var problems: [(Node, String)] = []
        guard let mapping = node.mapping else { return ([:], [(node, "\(what) must be a mapping ({name: …, …})")]) }
        for (k, v) in mapping {
            guard let key = k.scalar?.string, allowed.contains(key) else {
                problems.append((k, "\(what): unknown key \(k.scalar?.string ?? "?") (expected \(allowed.joined(separator: ", ")))"))
                continue
            }
            if values[key] != nil { problems.append((k, "\(what): \(key) appears twice")) }
            values[key] = v
        }
        return (values, problems)
    }

    mutating func object(_ section: String, _ node: Node) -> AccessObject? {
        let allowed: [String] =
            switch section {
            case "users": ["name", "trusted"]
            case "roles": ["name", "tools"]
            case "tools": ["name", "command", "shell", "node", "parameters", "files", "timeout", "output_cap"]
            case "groups": ["name", "nodes", "where"]
            default: ["user", "role", "node", "group"]
            }
        let what = String(section.dropLast())
        let (f, problems) = fields(node, allowed: allowed, what: what)
        for (n, m) in problems { error(n, m) }
        guard problems.isEmpty else { return nil }
        if section == "authorizations" { return authorization(f, node) }
        guard let nameNode = f["name"], let name = nameNode.scalar?.string, !name.isEmpty else {
            error(node, "\(what): name is missing")
            return nil
        }
        if name.contains(where: \.isWhitespace) || name.contains("/") {
            error(nameNode, "\(what) name \(name) must have no spaces or slashes")
            return nil
        }
        switch section {
        case "users":
            let trusted = f["trusted"].map { $0.bool } ?? false
            if f["trusted"] != nil && trusted == nil { error(f["trusted"], "user \(name): trusted must be true or false") }
            return AccessObject(kind: .user, name: name, definition: ["trusted": trusted ?? false])
        case "roles":
            guard let tools = strings(f["tools"], "role \(name): tools") else { return nil }
            return AccessObject(kind: .role, name: name, definition: ["tools": Array(Set(tools)).sorted()])
        case "groups":
            return group(name, f, node)
        default:
            return tool(name, f, node)
        }
    }

    mutating func authorization(_ f: [String: Node], _ node: Node) -> AccessObject? {
        guard let user = f["user"]?.scalar?.string, let role = f["role"]?.scalar?.string else {
            error(node, "authorization: user and role are needed")
            return nil
        }
        let target = f["node"]?.scalar?.string, group = f["group"]?.scalar?.string
        guard (target == nil) != (group == nil) else {
            error(node, "authorization: exactly one of node and group is needed")
            return nil
        }
        var definition: [String: Any] = ["user": user, "role": role]
        if let target { definition["node"] = target }
        if let group { definition["group"] = group }
        return AccessObject(
            kind: .authorization, name: AccessObject.authorizationName(user: user, role: role, node: target, group: group), definition: definition)
    }

    mutating func group(_ name: String, _ f: [String: Node], _ node: Node) -> AccessObject? {
        if let nodes = f["nodes"] {
            guard f["where"] == nil else {
                error(node, "group \(name): nodes or where, not both")
                return nil
            }
            guard let sets = strings(nodes, "group \(name): nodes") else { return nil }
            var set = NodeSet()
            for text in sets {
                do {
                    set = set.union(try NodeSet(parsing: text))
                } catch {
                    errors.append(
                        ConfigurationError(
                            file: file, line: nodes.mark?.line, column: nodes.mark.map { $0.column + error.column },
                            "group \(name): \(error.message) in \(text)"))
                    return nil
                }
            }
            return AccessObject(kind: .group, name: name, definition: ["nodes": set.names])
        }
        guard let condition = f["where"]?.scalar?.string, !condition.trimmingCharacters(in: .whitespaces).isEmpty else {
            error(node, "group \(name): nodes (a node set) or where (a condition over report.node_summary) is needed")
            return nil
        }
        if condition.contains(";") {
            error(f["where"], "group \(name): the where condition is one SQL condition, without ;")
            return nil
        }
        return AccessObject(kind: .group, name: name, definition: ["where": condition])
    }

    mutating func tool(_ name: String, _ f: [String: Node], _ node: Node) -> AccessObject? {
        var definition: [String: Any] = [:]
        switch (f["command"], f["shell"]) {
        case (let command?, nil):
            guard let argv = strings(command, "tool \(name): command"), !argv.isEmpty else {
                error(command, "tool \(name): command must be a non-empty list (argv), e.g. [df, -h]")
                return nil
            }
            definition["command"] = argv
        case (nil, let shell?):
            guard let line = shell.scalar?.string, !line.isEmpty else {
                error(shell, "tool \(name): shell must be one command line")
                return nil
            }
            definition["shell"] = line
        case (nil, nil):
            error(node, "tool \(name): command (an argv list) or shell (a command line) is needed")
            return nil
        default:
            error(node, "tool \(name): command or shell, not both")
            return nil
        }
        var parameters: [[String: Any]] = []
        if let list = f["parameters"] {
            for item in list.sequence ?? [] {
                let (p, problems) = fields(item, allowed: ["name", "required"], what: "tool \(name): parameter")
                for (n, m) in problems { error(n, m) }
                guard let pname = p["name"]?.scalar?.string, pname.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                    error(item, "tool \(name): a parameter needs a name of letters, digits and _")
                    continue
                }
                parameters.append(["name": pname, "required": p["required"]?.bool ?? false])
            }
            if list.sequence == nil { error(list, "tool \(name): parameters must be a list") }
        }
        definition["parameters"] = parameters
        let declared = Set(parameters.compactMap { $0["name"] as? String })
        for element in definition["command"] as? [String] ?? [] {
            for placeholder in Self.placeholders(in: element) where !declared.contains(placeholder) {
                error(f["command"], "tool \(name): {\(placeholder)} is not a declared parameter")
            }
        }
        var files: [[String: Any]] = []
        if let list = f["files"] {
            for item in list.sequence ?? [] {
                let (p, problems) = fields(item, allowed: ["source", "destination"], what: "tool \(name): file")
                for (n, m) in problems { error(n, m) }
                guard let source = p["source"]?.scalar?.string, source.hasPrefix("/") else {
                    error(item, "tool \(name): a file needs source, an absolute path on the database server")
                    continue
                }
                let destination = p["destination"]?.scalar?.string ?? (source as NSString).lastPathComponent
                if let problem = FileName.problem(destination) {
                    error(item, "tool \(name): file destination \(problem)")
                    continue
                }
                files.append(["source": source, "destination": destination])
            }
        }
        definition["files"] = files
        if let target = f["node"]?.scalar?.string {
            definition["node"] = target
            if !files.isEmpty { error(f["files"], "tool \(name): a multi-system tool (node:) copies no files") }
        }
        definition["timeout_ms"] = 600_000
        if let timeout = f["timeout"] {
            guard let ms = Self.milliseconds(timeout.scalar?.string ?? "") else {
                error(timeout, "tool \(name): timeout \(timeout.scalar?.string ?? "") is not a duration (e.g. 60s, 10m)")
                return nil
            }
            definition["timeout_ms"] = ms
        }
        definition["output_cap"] = 1 << 20
        if let cap = f["output_cap"] {
            guard let bytes = Self.bytes(cap.scalar?.string ?? ""), bytes >= 1024 else {
                error(cap, "tool \(name): output_cap must be a size of at least 1024 bytes (e.g. 64KiB, 1MiB)")
                return nil
            }
            definition["output_cap"] = bytes
        }
        return AccessObject(kind: .tool, name: name, definition: definition)
    }

    mutating func limits(_ node: Node) -> [String: Any]? {
        let (f, problems) = fields(node, allowed: ["tasks", "targets", "output_retention"], what: "limits")
        for (n, m) in problems { error(n, m) }
        var limits: [String: Any] = ["tasks": 10, "targets": 16, "output_retention": "90 days"]
        for key in ["tasks", "targets"] {
            guard let value = f[key] else { continue }
            guard let n = value.int, n > 0 else {
                error(value, "limits: \(key) must be a positive number")
                continue
            }
            limits[key] = n
        }
        if let retention = f["output_retention"] {
            let text = retention.scalar?.string ?? ""
            guard let ms = Self.milliseconds(text), ms >= 86_400_000, ms % 86_400_000 == 0 else {
                error(retention, "limits: output_retention must be whole days, e.g. 90d")
                return limits
            }
            limits["output_retention"] = "\(ms / 86_400_000) days"
        }
        return problems.isEmpty ? limits : nil
    }

    mutating func strings(_ node: Node?, _ what: String) -> [String]? {
        guard let node else { return [] }
        if let s = node.scalar?.string { return [s] }
        guard let list = node.sequence else {
            error(node, "\(what) must be a list")
            return nil
        }
        var out: [String] = []
        for item in list {
            guard let s = item.scalar?.string else {
                error(item, "\(what): every entry must be a single value")
                return nil
            }
            out.append(s)
        }
        return out
    }

    /// `{name}` placeholders in an argv element.
    public static func placeholders(in element: String) -> [String] {
        var names: [String] = []
        var rest = element[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    /// `500ms`, `60s`, `10m`, `2h`, `1d`, or milliseconds.
    static func milliseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (unit, factor) in units where text.hasSuffix(unit) {
            if let n = Int64(text.dropLast(unit.count)), n > 0 { return n * factor }
        }
        return Int64(text).flatMap { $0 > 0 ? $0 : nil }
    }

    /// `1024`, `64KiB`, `1MiB`.
    static func bytes(_ text: String) -> Int? {
        for (unit, factor) in [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30)] where text.hasSuffix(unit) {
            if let n = Int(text.dropLast(unit.count)), n > 0 { return n * factor }
        }
        return Int(text)
    }

    /// The objects in the database's JSON (`cimdb.access_configuration()`).
    public static func objects(fromDatabase json: String) throws -> [AccessObject] {
        guard let top = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return [] }
        var objects: [AccessObject] = []
        for user in top["users"] as? [[String: Any]] ?? [] {
            objects.append(AccessObject(kind: .user, name: user["name"] as? String ?? "", definition: ["trusted": user["trusted"] as? Bool ?? false]))
        }
        for role in top["roles"] as? [[String: Any]] ?? [] {
            objects.append(AccessObject(kind: .role, name: role["name"] as? String ?? "", definition: ["tools": role["tools"] ?? []]))
        }
        for var tool in top["tools"] as? [[String: Any]] ?? [] {
            let name = tool.removeValue(forKey: "name") as? String ?? ""
            objects.append(AccessObject(kind: .tool, name: name, definition: tool))
        }
        for var group in top["groups"] as? [[String: Any]] ?? [] {
            let name = group.removeValue(forKey: "name") as? String ?? ""
            objects.append(AccessObject(kind: .group, name: name, definition: group))
        }
        for a in top["authorizations"] as? [[String: Any]] ?? [] {
            let name = AccessObject.authorizationName(
                user: a["user"] as? String ?? "", role: a["role"] as? String ?? "", node: a["node"] as? String, group: a["group"] as? String)
            objects.append(AccessObject(kind: .authorization, name: name, definition: a))
        }
        if let limits = top["limits"] as? [String: Any] {
            objects.append(AccessObject(kind: .limits, name: "limits", definition: limits))
        }
        return objects
    }
}

extension AccessFile {
    /// The database's configuration (`cimdb.access_configuration()`) as an access file.
    public static func yaml(fromDatabase json: String) throws -> String {
        // JSONDecoder, not JSONSerialization: its numbers (NSNumber) would print as 1e+1, its booleans as 0e+0.
        guard var top = try JSONDecoder().decode(PlainJSON.self, from: Data(json.utf8)).value as? [String: Any] else { return "" }
        // The file's own spellings: durations and sizes as written, no defaults repeated.
        if var tools = top["tools"] as? [[String: Any]] {
            for i in tools.indices {
                if let ms = tools[i].removeValue(forKey: "timeout_ms") as? Int, ms != 600_000 {
                    tools[i]["timeout"] = ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
                }
                if let cap = tools[i]["output_cap"] as? Int, cap == 1 << 20 { tools[i]["output_cap"] = nil }
                if (tools[i]["files"] as? [Any])?.isEmpty == true { tools[i]["files"] = nil }
                if (tools[i]["parameters"] as? [Any])?.isEmpty == true { tools[i]["parameters"] = nil }
            }
            top["tools"] = tools
        }
        if var limits = top["limits"] as? [String: Any], let retention = limits["output_retention"] as? String,
            let days = Int(retention.split(separator: " ").first ?? "")
        {
            limits["output_retention"] = "\(days)d"
            top["limits"] = limits
        }
        var text = ""
        for key in ["users", "roles", "tools", "groups", "authorizations", "limits"] {
            guard let value = top[key] else { continue }
            text += try Yams.dump(object: [key: value], width: 120, sortKeys: true)
        }
        return text
    }
}

/// JSON as plain Swift values (Bool, Int, Double, String, arrays, dictionaries), for Yams.
struct PlainJSON: Decodable {
    var value: Any

    init(from decoder: any Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var items: [Any] = []
            while !list.isAtEnd { items.append(try list.decode(PlainJSON.self).value) }
            value = items
        } else if let object = try? decoder.container(keyedBy: Key.self) {
            var items: [String: Any] = [:]
            for key in object.allKeys { items[key.stringValue] = try object.decode(PlainJSON.self, forKey: key).value }
            value = items
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                value = NSNull()
            } else if let b = try? single.decode(Bool.self) {
                value = b
            } else if let i = try? single.decode(Int.self) {
                value = i
            } else if let d = try? single.decode(Double.self) {
                value = d
            } else {
                value = try single.decode(String.self)
            }
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
