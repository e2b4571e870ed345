import CIM
import Inventory
import ORM
import SQLCore

/// The decisions of an update round, pure: from the results and what the round's queries
/// loaded to each result's state — accepted with its values, duplicate, refused — in two
/// stages (check and parse; then resolve the lines' instances). `UpdateRound` loads, calls these
/// in order, and hands the accepted ones to `UpdateWriter`.
enum UpdateDecision {
    /// What an inventory property's update output is read with.
    struct Config {
        var cls: ClassMapping
        var property: PropertyMapping
        /// The property's name as the configuration spells it (and deployments copy it).
        var storedName: String
        var keys: [PropertyMapping]
        var severity: Severity
        /// What decides how lines are read (class, key order, property): it prefixes the
        /// output's digest and seeds the line fingerprints. Built once per configuration.
        let head: [UInt8]
        let fingerprintSeed: UInt64

        init(cls: ClassMapping, property: PropertyMapping, storedName: String, keys: [PropertyMapping], severity: Severity) {
            self.cls = cls
            self.property = property
            self.storedName = storedName
            self.keys = keys
            self.severity = severity
            head = Array((cls.name + "\u{0}" + keys.map(\.name).joined(separator: ",") + "\u{0}" + property.name + "\u{0}").utf8)
            fingerprintSeed = LineFingerprints.hash(head)
        }
    }

    /// The monitor's last applied run.
    struct LastRun {
        var sequence: Int64
        var digest: String
        var lines: [UInt8]
    }

    /// What the first queries of a round found, per result (by position).
    struct Loaded {
        var configs: [Config?]
        /// The severity the result's deployment on its node was given.
        var deployedSeverity: [Severity?]
        var last: [LastRun?]
    }

    struct Line {
        var number: Int
        var path: String
        var value: String?
        var id: Int64 = 0
    }

    typealias LocatedError = (line: Int, column: Int, message: String)

    /// An accepted result: its summary so far, what to record, and the lines to write.
    struct Accepted {
        var summary: UpdateSummary
        /// The digest to record (the last one kept when the script failed).
        var digest: String
        /// The line fingerprints to record; nil keeps those recorded.
        var fingerprints: [UInt64]?
        var config: Config?
        var lines: [Line] = []
        /// Errors found while parsing, reported with those found while resolving.
        var errors: [LocatedError] = []
    }

    typealias Item = ItemState<Accepted>

    static func place(_ result: UpdateResult) -> IngestError {
        IngestError(node: result.node, settings: result.settings, property: result.property, "")
    }

    /// Stage one: configuration, sequence number, size; the lines that are not in the last
    /// applied output parsed.
    static func check(_ results: [UpdateResult], loaded: Loaded, maximumOutputBytes: Int) -> [Item] {
        results.enumerated().map { index, result in
            guard var config = loaded.configs[index] else {
                return .refused([
                    place(result).with(
                        "no such inventory property (settings \(result.settings) has no property \(result.property), or the class is not in the installed model)"
                    )
                ])
            }
            config.severity = loaded.deployedSeverity[index] ?? config.severity
            let previous = loaded.last[index]
            if result.sequence > 0, let previous, previous.sequence >= result.sequence {
                return .duplicate(sequence: result.sequence, lastApplied: previous.sequence)
            }
            if result.output.count > maximumOutputBytes {
                return .refused([place(result).with("the update output is \(result.output.count) bytes, over the cap of \(maximumOutputBytes)")])
            }
            var summary = UpdateSummary(node: result.node, settings: result.settings, property: config.property.name)
            if result.status == .failed {
                summary.failed = true
                return .accepted(Accepted(summary: summary, digest: previous?.digest ?? ""))
            }
            let digest = Self.digest(config, result.output)
            if previous?.digest == digest {
                summary.unchangedOutput = true
                return .accepted(Accepted(summary: summary, digest: digest))
            }
            // Only the lines that are not in the last applied output are read.
            let previousLines = previous.map { $0.digest.isEmpty ? [] : LineFingerprints.decode($0.lines) } ?? []
            let split = LineFingerprints.split(result.output, seed: config.fingerprintSeed, previous: previousLines)
            summary.values = split.unchanged
            summary.unchangedLines = split.unchanged
            var accepted = Accepted(summary: summary, digest: digest, fingerprints: split.fingerprints)
            if !split.lineNumbers.isEmpty {
                accepted.config = config
                (accepted.lines, accepted.errors) = parse(config, output: split.novel, lineNumbers: split.lineNumbers)
            }
            return .accepted(accepted)
        }
    }

    /// The digest recorded in `cimdb.update_run`: of the output and of what decides how it is
    /// read (class, key order, property).
    static func digest(_ config: Config, _ output: [UInt8]) -> String {
        Digest.sha256(config.head + output)
    }

    /// Parses (part of) an output into (line, instance path, SQL text of the value) and the
    /// errors found; `lineNumbers[k]` is the original line number of the part's line k + 1.
    static func parse(_ config: Config, output: [UInt8], lineNumbers: [Int]) -> (lines: [Line], errors: [LocatedError]) {
        let cls = config.cls, keys = config.keys, property = config.property
        let (outputLines, parseErrors) = ScriptOutput.parse(
            output, fields: keys.count + 1,
            meaning: "the key properties in KeyPropertyOrder, then the value of \(property.name)")
        let original = { (line: Int) in line >= 1 && line <= lineNumbers.count ? lineNumbers[line - 1] : line }
        var located: [LocatedError] = parseErrors.map { (original($0.line), $0.column, $0.message) }
        var lines: [Line] = []
        lines.reserveCapacity(outputLines.count)
        var keyValues: [(String, Value)] = []
        // The canonical path lists keys by name: the order is the same for every line.
        let pathOrder = keys.indices.sorted { namePrecedes(keys[$0].name, keys[$1].name) }
        let scalarKeys = keys.map(FieldConversion.scalar)
        for line in outputLines {
            keyValues.removeAll(keepingCapacity: true)
            var ok = true
            for (index, key) in keys.enumerated() {
                do throws(ValueError) {
                    keyValues.append((key.name, try FieldConversion.key(line.fields[index], key, scalar: scalarKeys[index], className: cls.name)))
                } catch {
                    located.append((original(line.number), line.fieldColumns[index], error.message))
                    ok = false
                }
            }
            let valueIndex = keys.count
            let value: Value
            do throws(ValueError) {
                value = try FieldConversion.value(line.fields[valueIndex], property, className: cls.name)
            } catch {
                located.append((original(line.number), line.fieldColumns[valueIndex], error.message))
                continue
            }
            guard ok else { continue }
            let path = InstancePath(className: cls.name, keys: pathOrder.map { keyValues[$0] }).description
            lines.append(Line(number: original(line.number), path: path, value: ValueCoding.sqlValue(value, for: property).text))
        }
        return (lines, located)
    }

    /// What stage two looks up: (node, settings, path) of every parsed line, in item order.
    static func lookups(_ items: [Item], _ results: [UpdateResult]) -> [(node: String, settings: String, path: String)] {
        zip(items, results).flatMap { item, result in
            (item.accepted?.lines ?? []).map { (result.node, result.settings, $0.path) }
        }
    }

    /// Stage two: every line's instance, among those the node reports under the settings object
    /// (`found`, one id per lookup, 0 for none). A line naming anything else refuses its result,
    /// with every error the parse found, in output order.
    static func resolve(_ items: consuming [Item], _ results: [UpdateResult], found: [Int64]) -> [Item] {
        var position = 0
        for index in items.indices {
            guard case .accepted(var accepted) = items[index] else { continue }
            // The array's only reference is `accepted`'s now: the lines are updated in place, not copied.
            items[index] = .refused([])
            let result = results[index]
            var errors = accepted.errors
            var lineOf: [Int64: Int] = [:]
            for i in accepted.lines.indices {
                let line = accepted.lines[i]
                let id = found[position]
                position += 1
                guard id != 0 else {
                    errors.append((line.number, 1, "node \(result.node) does not report \(line.path) (settings \(result.settings))"))
                    continue
                }
                if let first = lineOf[id] {
                    errors.append((line.number, 1, "the same instance as line \(first)"))
                    continue
                }
                lineOf[id] = line.number
                accepted.lines[i].id = id
            }
            guard errors.isEmpty else {
                let place = Self.place(result)
                items[index] = .refused(
                    errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) }.map {
                        place.with(output: .update, line: $0.line, column: $0.column, $0.message)
                    })
                continue
            }
            accepted.summary.values += accepted.lines.count
            accepted.errors = []
            items[index] = .accepted(accepted)
        }
        return items
    }
}
