public import ArgumentParser

/// `cimdb bench …`: performance measurements against reference implementations run in the
/// same process or the same job. Meant for release builds (`swift build -c release`).
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure cimdb against reference implementations (build with -c release).",
        discussion: """
            Every benchmark prints its own figures next to a reference measured in the same run, \
            and the ratio. Debug builds are several times slower; the figures quoted in the \
            README come from release builds.
            """,
        subcommands: [
            BenchMOF.self, BenchStore.self, BenchIngest.self, BenchExport.self, BenchAgentFootprint.self, BenchServerLoad.self, BenchTasks.self,
            BenchTaskAgents.self, BenchProxy.self,
        ]
    )

    public init() {}
}
