import SQLCore
@testable import Store
import Testing

@Suite("Child processes")
struct CommandTests {
    @Test("output is kept up to its limit (the tail), exit codes are reported")
    func boundedOutput() async throws {
        let output = try await Command.run("/bin/sh", ["-c", "head -c 200000 /dev/zero | tr '\\0' a; echo end; echo oops >&2; exit 3"])
        #expect(output.exitCode == 3)
        let kept = output.standardOutput.utf8.count
        let tailIsKept = output.standardOutput.hasSuffix("aaaend\n")
        #expect(kept == Command.outputLimit)
        #expect(tailIsKept)
        #expect(output.diagnostics == "oops")
    }

    @Test("a child that runs too long is killed with its process group, and that is an error")
    func timeout() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: PostgresError.self) {
            try await Command.run("/bin/sh", ["-c", "sleep 300 & sleep 300"], timeout: .milliseconds(300))
        }
        #expect(error?.message.contains("did not finish within") == true)
        // Far below the children's 300 s (generous: other suites may keep the cooperative pool busy).
        #expect(clock.now - start < .seconds(120))
    }

    @Test("a missing executable is an error naming it")
    func missingExecutable() async throws {
        let error = await #expect(throws: PostgresError.self) {
            try await Command.run("/nonexistent/tool", ["x"])
        }
        #expect(error?.message.contains("/nonexistent/tool") == true)
    }
}
