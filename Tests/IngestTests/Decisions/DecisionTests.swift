import CIM
import Foundation
@testable import Ingest
import Inventory
import MOF
import ORM
import Testing

/// The ingest rounds' decisions, pure: results and loaded state in, item states and write
/// plans out — no database (the round tests in Processing/ run the same rules end to end).
@Suite("ingest decisions (pure)")
struct DecisionTests {
    static let catalog: ModelCatalog = {
        let source = """
            Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride);
            Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride);
            class Test_Host { [Key] string Name; };
            class Test_Disk { [Key] string Name; uint64 Size; };
            [Association] class Test_HostedDisk { [Key] Test_Host REF Host; [Key] Test_Disk REF Disk; };
            """
        let compilation = Compiler().compile(source: source)
        precondition(compilation.errors.isEmpty, "the test model compiles: \(compilation.errors)")
        return ModelCatalog(model: compilation.model)
    }()

    static let snapshot = MonitorSnapshot.decode(
        """
        {"monitor": "m", "settings": [
          {"id": "hosts", "className": "Test_Host", "keyPropertyOrder": ["Name"], "discoveryScript": "h",
           "createdSeverity": "info", "deletedSeverity": "warning"},
          {"id": "disks", "className": "Test_Disk", "parent": "hosts", "keyPropertyOrder": ["Name"], "discoveryScript": "d",
           "associationScript": "a", "createdSeverity": "info", "deletedSeverity": "critical"}
        ]}
        """)!

    static func result(node: String = "n1", sequence: Int64 = 5, hosts: String = "h\n", disks: String, associations: String? = nil) -> DiscoveryResult
    {
        DiscoveryResult(
            node: node, monitor: "m", sequence: sequence, startedAt: "", finishedAt: "",
            settings: [
                .init(id: "hosts", status: .ok, discovery: Array(hosts.utf8)),
                .init(id: "disks", status: .ok, discovery: Array(disks.utf8), associations: associations.map { Array($0.utf8) }),
            ])
    }

    static var loaded: DiscoveryDecision.Loaded {
        var loaded = DiscoveryDecision.Loaded()
        loaded.snapshots["m"] = snapshot
        loaded.lastSequence["n1"] = ["m": 4]
        return loaded
    }

    static func check(_ results: [DiscoveryResult], loaded: DiscoveryDecision.Loaded = loaded) -> [DiscoveryDecision.Item] {
        DiscoveryDecision.check(results, loaded: loaded, catalog: catalog, maximumOutputBytes: 1 << 20)
    }

    static func errors<Accepted>(_ item: ItemState<Accepted>) -> [IngestError] {
        if case .refused(let errors) = item { return errors }
        return []
    }

    @Test func anUnknownMonitorAStaleSequenceAndABadLineAreDecidedWithoutTheDatabase() throws {
        var unknown = Self.result(disks: "d1\n")
        unknown.monitor = "nope"
        let items = Self.check([unknown, Self.result(sequence: 4, disks: "d1\n"), Self.result(node: "n2", disks: "d1\nd1\n")])
        #expect(Self.errors(items[0]) == [IngestError(node: "n1", "unknown discovery monitor nope")])
        #expect(Self.errors(items[0]).map(\.description) == ["node n1: unknown discovery monitor nope"])
        guard case .duplicate(let sequence, let last) = items[1] else { Issue.record("expected a duplicate, got \(items[1])"); return }
        #expect((sequence, last) == (4, 4))
        let duplicateLine = try #require(Self.errors(items[2]).first)
        #expect(duplicateLine.node == "n2")
        #expect(duplicateLine.monitor == "m")
        #expect(duplicateLine.settings == "disks")
        #expect(duplicateLine.output == .discovery)
        #expect(duplicateLine.line == 2)
        #expect(duplicateLine.column == 1)
        #expect(
            duplicateLine.description.hasPrefix("node n2, monitor m, settings disks, discovery output line 2, column 1: the same instance as line 1"))
    }

    /// Finding 12 and 13 of "Trust and durability": a CR LF output made the key `x1\r` (1
    /// instance created, 13 deleted); GS as a whole key stored an empty key; US in a scalar key
    /// was stored verbatim. Now CR LF is a line end, and the others refuse the result at their place.
    @Test func crLFOutputKeepsItsKeys_emptyKeysAndSeparatorsInKeysAreRefused() throws {
        let crlf = Self.check([Self.result(hosts: "h\r\n", disks: "d1\r\nd2\r\n")])
        guard case .accepted = crlf[0] else { Issue.record("CR LF output refused: \(Self.errors(crlf[0]))"); return }
        for (disks, column, message) in [
            ("d1\n\u{1D}\n", 1, "key Name cannot be empty (GS)"),
            ("d1\nd\u{1F}2\n", 1, "Name is a single value: US (0x1F) separates array entries"),
            ("d1\nd\u{1B}[2J\n", 2, "control character U+001B (ESC)"),
            ("d1\r\nd\r2\r\n", 2, "control character U+000D (CR)"),
        ] {
            let items = Self.check([Self.result(disks: disks)])
            let error = try #require(Self.errors(items[0]).first, "\(disks.debugDescription) was not refused")
            #expect(error.line == 2 && error.column == column, "\(disks.debugDescription): \(error)")
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func whatANodeReportedBeforeDecidesWhatIsCreatedAndWhatIsGone() throws {
        let items = Self.check([Self.result(disks: "d2\nd3\n")])
        let plan = try #require(items[0].accepted)
        let disks = try #require(plan.runs.first { $0.settings.id == "disks" })
        let paths = disks.instances.map(\.path)
        #expect(paths.count == 2)
        var state = DiscoveryDecision.NodeState()
        // Before: d1 (id 11) and d2 (id 12); the host is unchanged.
        let d1 = FieldConversion.path("Test_Disk", [("Name", .string("d1"))])
        state.instances["disks"] = [d1: 11, paths[0]: 12]
        let hosts = try #require(plan.runs.first { $0.settings.id == "hosts" })
        state.instances["hosts"] = [hosts.instances[0].path: 10]
        let write = DiscoveryDecision.writePlan(items, states: ["n1": state])
        #expect(write.accepted == [0])
        #expect(write.instances.map(\.path) == [paths[1]])
        #expect(write.gone.map(\.id) == [11])
        #expect(write.gone.first?.severity == .critical)
        #expect(write.filled.map(\.settings).sorted() == ["disks", "hosts"])
        #expect(write.emptied.isEmpty)
        #expect(write.states.map(\.count).sorted() == [1, 2])
        #expect(write.runs.map(\.node) == ["n1"])
    }

    @Test func anAssociationToAnInstanceTheNodeDoesNotReportRefusesTheResult() throws {
        let host = FieldConversion.path("Test_Host", [("Name", .string("h"))])
        let missing = FieldConversion.path("Test_Disk", [("Name", .string("d9"))])
        let present = FieldConversion.path("Test_Disk", [("Name", .string("d1"))])
        func association(_ disk: String) -> String {
            "Test_HostedDisk.Disk=\"\(disk.replacingOccurrences(of: "\"", with: "\\\""))\",Host=\"\(host.replacingOccurrences(of: "\"", with: "\\\""))\""
        }
        let items = Self.check([
            Self.result(disks: "d1\n", associations: association(present) + "\n"),
            Self.result(node: "n2", disks: "d1\n", associations: association(present) + "\n" + association(missing) + "\n"),
        ])
        #expect(items.allSatisfy { $0.accepted != nil }, "\(items)")
        let checked = DiscoveryDecision.checkReferences(items, states: [:], catalog: Self.catalog)
        #expect(checked[0].accepted != nil)
        let error = try #require(Self.errors(checked[1]).first)
        #expect(error.node == "n2")
        #expect(error.output == .association)
        #expect(error.line == 2)
        #expect(error.message.contains("which node n2 does not report"))
        #expect(DiscoveryDecision.writePlan(checked, states: [:]).accepted == [0])
    }

    // MARK: Updates

    static func config() throws -> UpdateDecision.Config {
        let cls = try #require(catalog.class(named: "Test_Disk"))
        return UpdateDecision.Config(
            cls: cls, property: try #require(cls.property(named: "Size")), storedName: "Size",
            keys: [try #require(cls.property(named: "Name"))], severity: .info)
    }

    static func update(_ output: String, sequence: Int64 = 2, status: DiscoveryResult.Status = .ok) -> UpdateResult {
        UpdateResult(
            node: "n1", settings: "disks", property: "Size", sequence: sequence, startedAt: "", finishedAt: "", status: status,
            output: Array(output.utf8))
    }

    @Test func updatesAreCheckedParsedAndResolvedWithoutTheDatabase() throws {
        let config = try Self.config()
        let unchanged = Self.update("d1\u{1E}5\n")
        let last = UpdateDecision.LastRun(sequence: 1, digest: UpdateDecision.digest(config, unchanged.output), lines: [])
        let results = [
            Self.update("d1\u{1E}7\nd2\u{1E}x\n"), unchanged, Self.update("d1\u{1E}1\n", sequence: 1), Self.update("d1\u{1E}1\n"),
            Self.update("", status: .failed),
        ]
        let loaded = UpdateDecision.Loaded(
            configs: [config, config, config, nil, config], deployedSeverity: [nil, nil, nil, nil, .warning],
            last: [nil, last, last, nil, last])
        let items = UpdateDecision.check(results, loaded: loaded, maximumOutputBytes: 1 << 20)
        // The first: parsed; line 2's value is not a uint64 (kept until resolution reports all).
        let parsed = try #require(items[0].accepted)
        #expect(parsed.lines.map(\.number) == [1])
        #expect(parsed.errors.map(\.line) == [2])
        #expect(items[1].accepted?.summary.unchangedOutput == true)
        guard case .duplicate = items[2] else { Issue.record("expected a duplicate"); return }
        #expect(Self.errors(items[3]).first?.description.hasPrefix("node n1, settings disks, property Size: no such inventory property") == true)
        #expect(items[4].accepted?.summary.failed == true)
        #expect(items[4].accepted?.digest == last.digest)

        // One lookup per parsed line; not found (0) refuses with every error in output order.
        let lookups = UpdateDecision.lookups(items, results)
        #expect(lookups.map(\.path) == [FieldConversion.path("Test_Disk", [("Name", .string("d1"))])])
        let refused = UpdateDecision.resolve(items, results, found: [0])
        let errors = Self.errors(refused[0])
        #expect(errors.map(\.line) == [1, 2])
        #expect(errors.allSatisfy { $0.output == .update && $0.property == "Size" })
        #expect(errors[0].description.hasPrefix("node n1, settings disks, property Size, update output line 1, column 1: node n1 does not report"))
    }

    @Test func resolvedLinesCarryTheirInstanceAndCountAsValues() throws {
        let config = try Self.config()
        let results = [Self.update("d1\u{1E}7\nd2\u{1E}8\n")]
        let items = UpdateDecision.check(results, loaded: .init(configs: [config], deployedSeverity: [nil], last: [nil]), maximumOutputBytes: 1 << 20)
        let resolved = UpdateDecision.resolve(items, results, found: [41, 42])
        let accepted = try #require(resolved[0].accepted)
        #expect(accepted.lines.map(\.id) == [41, 42])
        #expect(accepted.lines.map(\.value) == ["7", "8"])
        #expect(accepted.summary.values == 2)
        #expect(accepted.fingerprints?.count == 2)
        // The same instance on two lines refuses the result.
        let twice = UpdateDecision.resolve(items, results, found: [41, 41])
        #expect(Self.errors(twice[0]).map(\.message) == ["the same instance as line 1"])
    }
}
