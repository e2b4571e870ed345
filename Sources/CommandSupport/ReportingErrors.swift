public import ArgumentParser
import Foundation

extension AsyncParsableCommand {
    /// Runs `body`, printing domain errors (ours, PostgreSQL's) as `Error: …` on standard error
    /// and exiting 1; the command's own usage errors go to ArgumentParser.
    public func reportingErrors(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ExitCode {
            throw error
        } catch let error as ValidationError {
            throw error
        } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
