/// One target's outcome, for printing.
public struct TargetOutcome: Sendable, Hashable {
    public var node: String
    public var state: String
    public var failureCause: String?
    public var exitCode: Int32?
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    public init(node: String, state: String, failureCause: String? = nil, exitCode: Int32?, stdout: [UInt8], stderr: [UInt8]) {
        self.node = node
        self.state = state
        self.failureCause = failureCause
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }

    /// `exit code 0`, `FAILED (timeout)`, `CANCELLED`.
    public var ending: String {
        if state == "COMPLETE" || (state == "FAILED" && failureCause == "exit status") {
            return "exit code \(exitCode.map(String.init) ?? "?")"
        }
        return state + (failureCause.map { " (\($0))" } ?? "")
    }
}

/// Outputs as `clush -b` prints them: one block per distinct output and ending, headed by the
/// node set that produced it, folded into ranges; or (`fold: false`) one block per node.
public enum OutputFolding {
    public struct Block: Sendable, Hashable {
        public var nodes: NodeSet
        public var ending: String
        public var stdout: [UInt8]
        public var stderr: [UInt8]
    }

    public static func blocks(_ outcomes: [TargetOutcome], fold: Bool = true) -> [Block] {
        guard fold else {
            // In node-set order (n2 before n10).
            let order = Dictionary(NodeSet(outcomes.map(\.node)).names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            return outcomes.sorted { order[$0.node, default: 0] < order[$1.node, default: 0] }
                .map { Block(nodes: NodeSet([$0.node]), ending: $0.ending, stdout: $0.stdout, stderr: $0.stderr) }
        }
        struct Key: Hashable {
            var ending: String
            var stdout: [UInt8]
            var stderr: [UInt8]
        }
        var order: [Key] = []
        var nodes: [Key: [String]] = [:]
        for outcome in outcomes {
            let key = Key(ending: outcome.ending, stdout: outcome.stdout, stderr: outcome.stderr)
            if nodes[key] == nil { order.append(key) }
            nodes[key, default: []].append(outcome.node)
        }
        // Largest group first, as clush does; ties by their first node.
        return order.map { Block(nodes: NodeSet(nodes[$0]!), ending: $0.ending, stdout: $0.stdout, stderr: $0.stderr) }
            .sorted { ($0.nodes.count, $1.nodes.description) > ($1.nodes.count, $0.nodes.description) }
    }

    /// The text of the blocks:
    ///
    ///     ---------------
    ///     n[01-03] (3) exit code 0
    ///     ---------------
    ///     output…
    public static func render(_ blocks: [Block]) -> String {
        var text = ""
        for block in blocks {
            let rule = "---------------\n"
            text += rule + "\(block.nodes) (\(block.nodes.count)) \(block.ending)\n" + rule
            text += String(decoding: block.stdout, as: UTF8.self)
            if !block.stdout.isEmpty && block.stdout.last != 0x0A { text += "\n" }
            if !block.stderr.isEmpty {
                text += "[stderr]\n" + String(decoding: block.stderr, as: UTF8.self)
                if block.stderr.last != 0x0A { text += "\n" }
            }
        }
        return text
    }
}
