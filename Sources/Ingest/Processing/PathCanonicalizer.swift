import CIM
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// The canonical form of an instance path against the model, without the database: the class
/// as the model spells it, every key exactly once and of its type, keys sorted by name, nested
/// references canonical themselves.
struct PathCanonicalizer {
    var catalog: ModelCatalog
    /// Nested references already made canonical, by their text: an association output names
    /// the same few endpoints (the system above all) on line after line.
    private var references: [String: Canonical] = [:]

    init(catalog: ModelCatalog) { self.catalog = catalog }

    struct Canonical {
        var cls: ClassMapping
        var path: String
        /// Key values in the class's key order; references as `.reference(canonical path)`.
        var keys: [(PropertyMapping, Value)]
    }

    mutating func canonical(_ path: InstancePath) throws(ValueError) -> Canonical {
        guard let cls = catalog.class(named: path.className) else {
            throw ValueError("unknown class \(path.className) (not in the installed model)")
        }
        let classKeys = cls.keys
        var keys: [(PropertyMapping, Value)] = []
        for binding in path.keys {
            guard let property = cls.property(named: binding.name) else {
                throw ValueError("class \(cls.name) has no property \(binding.name)")
            }
            guard property.isKey else {
                throw ValueError("\(cls.name).\(property.name) is not a key (keys: \(classKeys.map(\.name).joined(separator: ", ")))")
            }
            if property.isReference {
                guard let text = binding.value.stringValue, case .string = binding.value else {
                    throw ValueError("\(cls.name).\(property.name) is a reference: its value is a quoted instance path")
                }
                let target: Canonical
                if let known = references[text] {
                    target = known
                } else {
                    let nested: InstancePath
                    do throws(InstancePathError) {
                        nested = try InstancePath.parse(text)
                    } catch {
                        throw ValueError("\(cls.name).\(property.name): not an instance path (\(error.message)): \(text)")
                    }
                    target = try canonical(nested)
                    references[text] = target
                }
                if let referenceClass = property.referenceClass, !catalog.isClass(target.cls.name, kindOf: referenceClass) {
                    throw ValueError("\(cls.name).\(property.name) refers to \(referenceClass) instances; \(target.path) is a \(target.cls.name)")
                }
                keys.append((property, .reference(target.path)))
            } else {
                let text: String
                switch binding.value {
                case .string(let s): text = s
                case .char16(let c): text = String(decoding: [c], as: UTF16.self)
                default: text = ValueCoding.scalarText(binding.value)
                }
                keys.append((property, try ValueCoding.parse(text, for: FieldConversion.scalar(property), of: cls.name)))
            }
        }
        // In the class's key order (keys were checked to be keys, and InstancePath.parse
        // rejects a key given twice, so equal counts mean every key is there).
        var ordered: [(PropertyMapping, Value)] = []
        ordered.reserveCapacity(classKeys.count)
        for key in classKeys {
            guard let given = keys.first(where: { $0.0.name == key.name }) ?? keys.first(where: { sameName($0.0.name, key.name) }) else {
                throw ValueError("the path gives no value for key \(key.name) of \(cls.name)")
            }
            ordered.append(given)
        }
        return Canonical(cls: cls, path: FieldConversion.path(cls.name, ordered.map { ($0.0.name, $0.1) }), keys: ordered)
    }
}
