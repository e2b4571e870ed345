import CIM
public import ORM

extension InventoryConfiguration {
    /// Checks the configuration against the installed model and itself: classes exist and are
    /// concrete, KeyPropertyOrder names exactly the class's keys, inventory properties name
    /// non-key properties, parents exist without cycles, monitors name existing settings,
    /// names have no whitespace. `locate` gives the place of `settings ID`, `settings ID
    /// property NAME` and `monitor NAME` (from the YAML file).
    public func validate(
        against catalog: ModelCatalog, file: String, locate: (String) -> (line: Int, column: Int)? = { _ in nil }
    ) -> [ConfigurationError] {
        var errors: [ConfigurationError] = []
        func fail(_ key: String, _ message: String) {
            let place = locate(key)
            errors.append(ConfigurationError(file: file, line: place?.line, column: place?.column, message))
        }
        func hasWhitespace(_ s: String) -> Bool { s.isEmpty || s.contains { $0.isWhitespace } }

        var ids: Set<String> = []
        for s in settings {
            let key = "settings \(s.id)"
            // The id names the agent's instance cache file (cache/ID): a plain file name.
            if let problem = FileName.problem(s.id) { fail(key, "settings id \(problem) must be a plain name: letters, digits, '.', '_', '-'") }
            if !ids.insert(s.id).inserted { fail(key, "settings \(s.id) is declared twice") }
            guard let cls = catalog.class(named: s.className) else {
                fail(key, "settings \(s.id): class \(s.className) is not in the installed model")
                continue
            }
            if cls.isAbstract { fail(key, "settings \(s.id): class \(cls.name) is abstract and cannot have instances") }
            let keys = cls.keys.map(\.name)
            var seen: Set<NameKey> = []
            for name in s.keyPropertyOrder where !seen.insert(NameKey(name)).inserted {
                fail(key, "settings \(s.id): keyPropertyOrder names \(name) twice")
            }
            let missing = keys.filter { k in !s.keyPropertyOrder.contains { sameName($0, k) } }
            let extra = s.keyPropertyOrder.filter { k in !keys.contains { sameName($0, k) } }
            if !missing.isEmpty || !extra.isEmpty {
                var parts: [String] = []
                if !missing.isEmpty { parts.append("missing \(missing.joined(separator: ", "))") }
                if !extra.isEmpty { parts.append("not keys: \(extra.joined(separator: ", "))") }
                fail(
                    key,
                    "settings \(s.id): keyPropertyOrder must name exactly the keys of \(cls.name) (\(keys.joined(separator: ", "))); \(parts.joined(separator: "; "))"
                )
            }
            var propertyNames: Set<NameKey> = []
            for p in s.properties {
                let pkey = "settings \(s.id) property \(p.name)"
                if !propertyNames.insert(NameKey(p.name)).inserted { fail(pkey, "settings \(s.id): property \(p.name) is declared twice") }
                guard let mapped = cls.property(named: p.name) else {
                    fail(pkey, "settings \(s.id): class \(cls.name) has no property \(p.name)")
                    continue
                }
                if mapped.isKey {
                    fail(
                        pkey, "settings \(s.id): \(cls.name).\(mapped.name) is a key; keys come from the discovery script, not from an update script")
                }
                if mapped.isReference {
                    fail(pkey, "settings \(s.id): \(cls.name).\(mapped.name) is a reference; references come from association scripts")
                }
                if p.periodMilliseconds <= 0 || p.timeoutMilliseconds <= 0 {
                    fail(pkey, "settings \(s.id): property \(p.name): period and timeout must be positive")
                }
            }
        }
        // Parents exist, and following them never comes back.
        for s in settings {
            guard let parent = s.parent else { continue }
            if settings(parent) == nil {
                fail("settings \(s.id)", "settings \(s.id): parent \(parent) is not declared")
                continue
            }
            var chain = [s.id]
            var current: String? = parent
            while let c = current, let next = settings(c) {
                if chain.contains(c) {
                    fail("settings \(s.id)", "settings \(s.id): parents form a cycle (\((chain + [c]).joined(separator: " → ")))")
                    break
                }
                chain.append(c)
                current = next.parent
            }
        }
        var names: Set<String> = []
        for m in monitors {
            let key = "monitor \(m.name)"
            if hasWhitespace(m.name) { fail(key, "monitor name '\(m.name)' must be a name without whitespace") }
            if !names.insert(m.name).inserted { fail(key, "monitor \(m.name) is declared twice") }
            if m.periodMilliseconds <= 0 || m.timeoutMilliseconds <= 0 { fail(key, "monitor \(m.name): period and timeout must be positive") }
            if m.settings.isEmpty { fail(key, "monitor \(m.name) runs no settings") }
            var listed: Set<String> = []
            for id in m.settings {
                if settings(id) == nil { fail(key, "monitor \(m.name): settings \(id) is not declared") }
                if !listed.insert(id).inserted { fail(key, "monitor \(m.name): settings \(id) is listed twice") }
            }
            if m.targets.isEmpty { fail(key, "monitor \(m.name) has no targets (use * for every node)") }
            for t in m.targets where hasWhitespace(t) {
                fail(key, "monitor \(m.name): target '\(t)' must be a node or group name without whitespace")
            }
        }
        return errors
    }
}
