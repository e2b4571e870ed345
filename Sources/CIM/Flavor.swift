/// How a qualifier value propagates and may be overridden (DSP0004 §5.6.1.3).
///
/// The defaults when neither the qualifier nor its declaration names a flavor are
/// EnableOverride, ToSubclass and not Translatable.
public struct Flavor: Sendable, Hashable {
    /// ToSubclass (true) or Restricted (false): whether subclasses and overriding elements inherit it.
    public var toSubclass: Bool
    /// EnableOverride (true) or DisableOverride (false).
    public var overridable: Bool
    public var translatable: Bool

    public init(toSubclass: Bool = true, overridable: Bool = true, translatable: Bool = false) {
        self.toSubclass = toSubclass
        self.overridable = overridable
        self.translatable = translatable
    }

    public static let `default` = Flavor()

    /// The flavor keywords that describe this flavor completely, in a fixed order.
    public var keywords: [String] {
        var names = [overridable ? "EnableOverride" : "DisableOverride", toSubclass ? "ToSubclass" : "Restricted"]
        if translatable { names.append("Translatable") }
        return names
    }
}

/// The flavor keywords of MOF, as written in `Flavor(...)` or after a qualifier's colon.
public enum FlavorKeyword: String, Sendable, CaseIterable {
    case enableOverride = "EnableOverride"
    case disableOverride = "DisableOverride"
    case toSubclass = "ToSubclass"
    case restricted = "Restricted"
    case translatable = "Translatable"

    public init?(keyword: some StringProtocol) {
        let lower = keyword.lowercased()
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == lower }) else { return nil }
        self = match
    }
}

/// A partially specified flavor: what a qualifier declaration or a qualifier use says
/// explicitly. Unspecified parts fall back to the next level (use → declaration → default).
public struct FlavorSpecification: Sendable, Hashable {
    public var toSubclass: Bool?
    public var overridable: Bool?
    public var translatable: Bool?

    public init(toSubclass: Bool? = nil, overridable: Bool? = nil, translatable: Bool? = nil) {
        self.toSubclass = toSubclass
        self.overridable = overridable
        self.translatable = translatable
    }

    public var isEmpty: Bool { toSubclass == nil && overridable == nil && translatable == nil }

    /// Completes this specification with `base` for every part it leaves open.
    public func applied(to base: Flavor) -> Flavor {
        Flavor(
            toSubclass: toSubclass ?? base.toSubclass,
            overridable: overridable ?? base.overridable,
            translatable: translatable ?? base.translatable
        )
    }
}
