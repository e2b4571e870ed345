import CIM

/// One JSON object of an envelope being read: typed field access whose errors name the field's
/// path (`settings[2].exitCode`) and its position.
struct EnvelopeObject {
    let members: [String: EnvelopeJSON.Member]
    let position: EnvelopeJSON.Position
    /// The object's path in the envelope, "" for the root.
    let path: String
    /// The envelope's bytes (for positions inside a base64 string).
    let bytes: [UInt8]

    /// The envelope's top-level object, after checking its `format` tag.
    static func root(_ bytes: [UInt8], format: String, what: String) throws(EnvelopeError) -> EnvelopeObject {
        let node = try EnvelopeJSON.parse(bytes)
        guard case .object = node.value else {
            throw EnvelopeError(
                line: node.position.line, column: node.position.column,
                message: "expected a JSON object (a cimdb \(what)), found \(node.value.kind)")
        }
        let root = EnvelopeObject(node, path: "", bytes: bytes)
        guard root.members["format"] != nil else {
            throw root.error("missing field \"format\": not a cimdb \(what)", at: root.position)
        }
        let found = try root.string("format")
        if found != format {
            throw root.error("format: " + Envelope.wrongFormat(found, expected: format), at: root.members["format"]!.value.position)
        }
        return root
    }

    init(_ node: EnvelopeJSON.Node, path: String, bytes: [UInt8]) {
        guard case .object(let members) = node.value else { preconditionFailure("EnvelopeObject of a non-object") }
        // The reader rejects duplicate keys, so the keys are unique.
        self.members = Dictionary(members.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        self.position = node.position
        self.path = path
        self.bytes = bytes
    }

    func error(_ message: String, at position: EnvelopeJSON.Position) -> EnvelopeError {
        EnvelopeError(line: position.line, column: position.column, message: message)
    }

    func name(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// The value of a field that must be present (and not null).
    func required(_ key: String, _ expected: String) throws(EnvelopeError) -> EnvelopeJSON.Node {
        guard let member = members[key] else {
            let owner = path.isEmpty ? "" : path + ": "
            throw error(owner + "missing field \"\(key)\"", at: position)
        }
        if case .null = member.value.value { throw mismatch(key, expected, member.value) }
        return member.value
    }

    /// The value of an optional field; absent and null are both nil.
    func optional(_ key: String) -> EnvelopeJSON.Node? {
        guard let node = members[key]?.value else { return nil }
        if case .null = node.value { return nil }
        return node
    }

    func mismatch(_ key: String, _ expected: String, _ node: EnvelopeJSON.Node) -> EnvelopeError {
        error("\(name(key)): expected \(expected), found \(node.value.kind)", at: node.position)
    }

    func string(_ key: String) throws(EnvelopeError) -> String {
        try text(key, try required(key, "a string"))
    }

    func optionalString(_ key: String) throws(EnvelopeError) -> String? {
        guard let node = optional(key) else { return nil }
        return try text(key, node)
    }

    func text(_ key: String, _ node: EnvelopeJSON.Node) throws(EnvelopeError) -> String {
        guard case .string(let text) = node.value else { throw mismatch(key, "a string", node) }
        return text
    }

    /// A non-empty string: a node name, a monitor, a settings or property name.
    func identifier(_ key: String) throws(EnvelopeError) -> String {
        let text = try string(key)
        if text.isEmpty { throw error("\(name(key)): \(Envelope.emptyIdentifier)", at: members[key]!.value.position) }
        return text
    }

    func timestamp(_ key: String) throws(EnvelopeError) -> String {
        let text = try string(key)
        if !Envelope.isTimestamp(text) { throw error("\(name(key)): " + Envelope.badTimestamp(text), at: members[key]!.value.position) }
        return text
    }

    func status(_ key: String) throws(EnvelopeError) -> DiscoveryResult.Status {
        let text = try string(key)
        guard let status = DiscoveryResult.Status(rawValue: text) else {
            throw error("\(name(key)): " + Envelope.unknownStatus(text), at: members[key]!.value.position)
        }
        return status
    }

    func sequence(_ key: String) throws(EnvelopeError) -> Int64 {
        let node = try required(key, "an integer")
        let value = try integer(key, node, Int64.self)
        if value < 0 { throw error("\(name(key)): \(Envelope.negativeSequence)", at: node.position) }
        return value
    }

    func optionalInteger<T: FixedWidthInteger>(_ key: String, _ type: T.Type) throws(EnvelopeError) -> T? {
        guard let node = optional(key) else { return nil }
        return try integer(key, node, type)
    }

    func integer<T: FixedWidthInteger>(_ key: String, _ node: EnvelopeJSON.Node, _ type: T.Type) throws(EnvelopeError) -> T {
        guard case .number(let text) = node.value else { throw mismatch(key, "an integer", node) }
        guard let value = T(text) else {
            let isInteger = !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
            let message = isInteger ? "\(text) does not fit a \(T.bitWidth)-bit integer" : "expected an integer, found \(text)"
            throw error("\(name(key)): \(message)", at: node.position)
        }
        return value
    }

    func bytes(_ key: String) throws(EnvelopeError) -> [UInt8] {
        try decodeBase64(key, try required(key, "a base64 string"))
    }

    func optionalBytes(_ key: String) throws(EnvelopeError) -> [UInt8]? {
        guard let node = optional(key) else { return nil }
        return try decodeBase64(key, node)
    }

    func decodeBase64(_ key: String, _ node: EnvelopeJSON.Node) throws(EnvelopeError) -> [UInt8] {
        guard case .string(let text) = node.value else { throw mismatch(key, "a base64 string", node) }
        switch WireBase64.decode(text) {
        case .success(let decoded):
            return decoded
        case .failure(let failure):
            let at = EnvelopeJSON.position(ofScalar: failure.index, inStringAt: node.offset, node.position, in: bytes)
            throw error("\(name(key)): invalid base64: \(failure.message)", at: at)
        }
    }

    func array(_ key: String) throws(EnvelopeError) -> [EnvelopeJSON.Node] {
        let node = try required(key, "an array")
        guard case .array(let elements) = node.value else { throw mismatch(key, "an array", node) }
        return elements
    }

    /// An element of an array field that must be an object; `path` names it.
    func object(_ node: EnvelopeJSON.Node, path: String) throws(EnvelopeError) -> EnvelopeObject {
        guard case .object = node.value else {
            throw error("\(path): expected an object, found \(node.value.kind)", at: node.position)
        }
        return EnvelopeObject(node, path: path, bytes: bytes)
    }
}
