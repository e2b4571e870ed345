/// The model elements a qualifier may be applied to (DSP0004 `Scope(...)`).
public struct Scope: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let `class` = Scope(rawValue: 1 << 0)
    public static let association = Scope(rawValue: 1 << 1)
    public static let indication = Scope(rawValue: 1 << 2)
    public static let qualifier = Scope(rawValue: 1 << 3)
    public static let property = Scope(rawValue: 1 << 4)
    public static let reference = Scope(rawValue: 1 << 5)
    public static let method = Scope(rawValue: 1 << 6)
    public static let parameter = Scope(rawValue: 1 << 7)
    public static let any = Scope(rawValue: 1 << 8)

    /// The scope keywords in DSP0004 order, with their MOF spelling in lower case.
    public static let keywords: [(name: String, scope: Scope)] = [
        ("class", .class), ("association", .association), ("indication", .indication),
        ("qualifier", .qualifier), ("property", .property), ("reference", .reference),
        ("method", .method), ("parameter", .parameter), ("any", .any),
    ]

    public init?(keyword: some StringProtocol) {
        let lower = keyword.lowercased()
        guard let match = Self.keywords.first(where: { $0.name == lower }) else { return nil }
        self = match.scope
    }

    /// Whether a qualifier with this scope may be applied to an element of kind `element`.
    public func permits(_ element: Scope) -> Bool {
        contains(.any) || !intersection(element).isEmpty
    }

    /// The keywords of the scopes in this set, in DSP0004 order.
    public var keywordNames: [String] {
        Self.keywords.filter { contains($0.scope) }.map(\.name)
    }
}
