import CIM
import ORM
import SQLCore
import Store

/// Which properties carry DSP0201's EmbeddedObject attribute, from the model's qualifiers (the
/// catalog tables do not keep them): "instance" for a property with the EmbeddedInstance
/// qualifier (its value is an INSTANCE element, as text), "object" for one with EmbeddedObject
/// or of type object.
struct EmbeddedProperties: Sendable {
    /// By "class\0property", in lower case.
    private var kinds: [String: String] = [:]

    init(model: Model?) {
        guard let model else { return }
        for cls in model.classes {
            for p in cls.properties {
                if let kind = Self.kind(of: p) { kinds[Self.key(cls.name, p.name)] = kind }
            }
        }
    }

    /// The attribute's value for a property of a class declaration.
    static func kind(of p: Property) -> String? {
        if p.qualifiers.string("EmbeddedInstance") != nil { return "instance" }
        if p.qualifiers.isTrue("EmbeddedObject") || p.type == .object { return "object" }
        return nil
    }

    /// The attribute's value for a property of an exported class.
    func kind(_ cls: ClassMapping, _ p: PropertyMapping) -> String? {
        kinds[Self.key(cls.name, p.name)] ?? (p.type == .object ? "object" : nil)
    }

    private static func key(_ cls: String, _ property: String) -> String {
        cls.lowercased() + "\u{0}" + property.lowercased()
    }
}
