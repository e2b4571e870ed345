import CIM
import Foundation
import TestSupport
import Testing

/// Our instance-path reader (`InstancePath.parse`, module CIM) against pywbem's
/// `CIMInstanceName.from_wbem_uri`, an independent implementation, over the corpus
/// Tests/crosscheck/instance_paths.txt (Tests/crosscheck/instance_paths.py prints pywbem's
/// reading). Both must accept a path with the same class, keys and values — nested paths
/// included — or both reject it, except for the differences listed in `differences`, each with
/// its reason. Needs pywbem: `bash .ci/run` installs it in /opt/cimxml-venv; CIMDB_PYTHON names
/// another interpreter.
@Suite struct InstancePathCrossCheckTests {
    static var python: String {
        ProcessInfo.processInfo.environment["CIMDB_PYTHON"] ?? "/opt/cimxml-venv/bin/python"
    }

    /// Paths (as in the corpus) where pywbem 1.9 and we disagree, and why.
    static let differences: [String: String] = {
        let namespace =
            "we read paths without namespace or host (SPEC §4: CIM object names without namespace); pywbem reads DSP0207's namespace and host prefixes"
        let escapes =
            "we decode \\n, \\r and \\t in quoted values (DSP0004 escapes; SPEC §4 writes a line break as \\n); pywbem drops every backslash and keeps the letter (re.sub(r'\\\\(.)', r'\\1', ...)), so \"a\\nb\" is \"anb\""
        let keyless = "we accept a path without keys (a keyless class: singleton); pywbem's regular expression needs at least one key binding"
        let identifiers =
            "names follow DSP0004 IDENTIFIER: a letter, '_' or a non-ASCII character first; pywbem takes Python's \\w+, so it accepts a leading digit and rejects symbols such as € or 😀"
        let duplicate = "we reject a key bound twice (names compare case-insensitively); pywbem keeps the last value silently"
        let char16 = "char16 is one UTF-16 code unit: we reject a character outside the BMP; pywbem accepts any one code point"
        let radix =
            "DSP0004 integerValue also has hexadecimal (0x1F) and binary (101b) forms; pywbem reads them, we reject them (our formatter writes decimal only; see the report on octal)"
        let range = "CIM integers are 64-bit: we reject what fits neither uint64 nor sint64; pywbem's integers are unbounded"
        let special = "INF, -INF and NaN are a pywbem extension (DSP0004 realValue has none); we reject them"
        let unquotedDatetime = "DSP0207 requires datetimes in double quotes: we reject a bare one; pywbem tolerates it with a warning"
        let leadingZero =
            "pywbem's octal pattern 0[1-7]* rejects 010 and 08 (DSP0004 reads 010 as octal 8, 08 as invalid); we read leading-zero integers as decimal, as script output's numeric keys are read"
        let exponent = "DSP0004 realValue needs a '.'; we also accept 1e5, as our MOF lexer does; pywbem follows DSP0004"
        return [
            "/root/cimv2:C.k=1": namespace, ":C.k=1": namespace, "http://example.com/root/cimv2:C.k=1": namespace,
            #"A.r="/root/cimv2:B.k=1""#: namespace,
            #"C.k="line1\nline2""#: escapes, #"C.k="cr\rlf\n""#: escapes, #"C.k="tab\there""#: escapes, #"C.k='\n'"#: escapes,
            #"A.r="B.s=\"C.k=\\\"line\\\\nbreak\\\"\"""#: escapes,
            "C": keyless,
            "1C.k=1": identifiers, "C.1k=1": identifiers, "C_€.k=1": identifiers, "C😀.k=1": identifiers,
            #"C.k="a",k="b""#: duplicate, #"C.k="a",K="b""#: duplicate,
            "C.k='😀'": char16,
            "C.k=0x1F": radix, "C.k=-0X1f": radix, "C.k=101b": radix,
            "C.k=18446744073709551616": range, "C.k=-9223372036854775809": range, "C.k=123456789012345678901234567890": range,
            "C.k=INF": special, "C.k=-inf": special, "C.k=NaN": special,
            "C.k=20260131120000.000000+000": unquotedDatetime,
            "C.k=010": leadingZero, "C.k=08": leadingZero,
            "C.k=1e5": exponent,
        ]
    }()

    /// pywbem's reading of every corpus path, one JSON object per path.
    static func pywbemReadings() async throws -> [[String: Any]] {
        try #require(
            FileManager.default.isExecutableFile(atPath: python),
            "pywbem's Python is missing at \(python): run `bash .ci/run` (or set CIMDB_PYTHON)")
        let crosscheck = wireRepositoryRoot.appendingPathComponent("Tests/crosscheck")
        let result = try await runProgram(
            python,
            [crosscheck.appendingPathComponent("instance_paths.py").path, crosscheck.appendingPathComponent("instance_paths.txt").path])
        try #require(result.status == 0, "instance_paths.py failed: \(result.standardError)")
        let data = Data(result.standardOutput.utf8)
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test func agreesWithPywbem() async throws {
        let readings = try await Self.pywbemReadings()
        let corpus = try String(contentsOf: wireRepositoryRoot.appendingPathComponent("Tests/crosscheck/instance_paths.txt"), encoding: .utf8)
        let paths = corpus.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty && !$0.hasPrefix("#") }
        #expect(readings.count == paths.count)
        #expect(paths.count >= 60)
        var found: [String: String] = [:]
        for reading in readings {
            let path = try #require(reading["path"] as? String)
            let ours = Result { () throws(InstancePathError) in try InstancePath.parse(path) }
            if let difference = Self.compare(ours, reading) { found[path] = difference }
        }
        for (path, difference) in found.sorted(by: { $0.key < $1.key }) where Self.differences[path] == nil {
            Issue.record("unexpected difference for \(path): \(difference)")
        }
        for path in Self.differences.keys.sorted() where found[path] == nil {
            Issue.record("a documented difference no longer occurs (remove it): \(path)")
        }
    }

    /// Nil when both readers agree; otherwise what differs.
    static func compare(_ ours: Result<InstancePath, InstancePathError>, _ theirs: [String: Any]) -> String? {
        let theirsOK = theirs["ok"] as? Bool ?? false
        switch (ours, theirsOK) {
        case (.failure, false):
            return nil
        case (.failure(let error), true):
            return "we reject it (\(error)); pywbem reads \(summary(theirs))"
        case (.success(let path), false):
            return "we read \(path); pywbem rejects it (\(theirs["error"] as? String ?? "?"))"
        case (.success(let path), true):
            return compare(path, theirs)
        }
    }

    static func summary(_ path: [String: Any]) -> String {
        let keys = (path["keybindings"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? "?")=\($0["type"] ?? "?"):\($0["value"] ?? "?")" }
        let namespace = (path["namespace"] as? String).map { " in namespace \($0)" } ?? ""
        return "\(path["classname"] ?? "?") [\(keys.joined(separator: ", "))]\(namespace)"
    }

    static func compare(_ ours: InstancePath, _ theirs: [String: Any]) -> String? {
        if let namespace = theirs["namespace"] as? String { return "pywbem reads the namespace \(namespace); we have no namespace" }
        if let host = theirs["host"] as? String { return "pywbem reads the host \(host)" }
        guard ours.className == theirs["classname"] as? String else { return "class \(ours.className) vs pywbem's \(summary(theirs))" }
        let keys = theirs["keybindings"] as? [[String: Any]] ?? []
        guard keys.count == ours.keys.count else { return "\(ours.keys.count) keys vs pywbem's \(summary(theirs))" }
        for (binding, key) in zip(ours.keys, keys) {
            guard binding.name == key["name"] as? String else { return "key \(binding.name) vs pywbem's \(key["name"] ?? "?")" }
            if let difference = compare(binding.value, key) { return "\(binding.name): \(difference)" }
        }
        return nil
    }

    static func compare(_ ours: Value, _ theirs: [String: Any]) -> String? {
        let type = theirs["type"] as? String ?? "?"
        let agree: Bool
        switch (ours, type) {
        case (.string(let s), "str"), (.string(let s), "datetime"):
            agree = s == theirs["value"] as? String
        case (.char16(let c), "str"):
            agree = String(decoding: [c], as: UTF16.self) == theirs["value"] as? String
        case (.unsigned(let u), "int"):
            agree = String(u) == theirs["value"] as? String
        case (.signed(let i), "int"):
            agree = String(i) == theirs["value"] as? String
        case (.real(let d), "float"):
            agree = (theirs["value"] as? String).flatMap(Double.init).map { $0 == d || ($0.isNaN && d.isNaN) } ?? false
        case (.boolean(let b), "bool"):
            agree = b == theirs["value"] as? Bool
        case (.string(let s), "reference"):
            // We keep a reference as its text; pywbem reads it as a path: compare nested.
            guard let nested = theirs["value"] as? [String: Any] else { return "malformed reading" }
            do {
                return compare(try InstancePath.parse(s), nested).map { "in the nested path: \($0)" }
            } catch {
                return "pywbem reads a nested path \(summary(nested)); we cannot parse \"\(s)\" as one (\(error))"
            }
        default:
            agree = false
        }
        return agree ? nil : "we read \(ours) (\(kind(ours))), pywbem reads \(type) \(theirs["value"] ?? "?")"
    }

    static func kind(_ value: Value) -> String {
        switch value {
        case .string: "string"
        case .char16: "char16"
        case .signed: "signed"
        case .unsigned: "unsigned"
        case .real: "real"
        case .boolean: "boolean"
        default: "other"
        }
    }
}
