public import ArgumentParser
import Foundation
import SQLCore

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
            FileHandle.standardError.write(Data("Error: \(detailed: error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

extension DefaultStringInterpolation {
    /// An error with all its details, for logs and the command line: a ``PostgresError``'s debug
    /// description (its description is generic), else the description.
    public mutating func appendInterpolation(detailed error: any Error) {
        if let error = error as? PostgresError {
            appendLiteral(error.debugDescription)
        } else {
            appendLiteral(String(describing: error))
        }
    }
}
