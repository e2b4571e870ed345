public import Foundation

/// Where commands write: results to standard output, diagnostics and progress to standard error.
public enum Output {
    public static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    public static func write(_ data: Data, to path: String) throws {
        if path == "-" {
            FileHandle.standardOutput.write(data)
        } else {
            try data.write(to: URL(fileURLWithPath: path))
        }
    }
}

/// Ends the process without deallocating what it built: flushes standard output first.
public func fastExit(_ code: Int32) -> Never {
    fflush(nil)
    exit(code)
}
