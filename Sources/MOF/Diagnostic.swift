public import CIM

/// A compiler message with its place: `file:line:column: error: message`, the source line,
/// and a caret under the offending token.
public struct Diagnostic: Sendable, Hashable, Error, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error, warning, note
    }

    public var severity: Severity
    public var message: String
    public var location: SourceLocation?
    /// The text of the line the location points into, for the caret display.
    public var sourceLine: String?

    public init(_ severity: Severity, _ message: String, at location: SourceLocation? = nil, sourceLine: String? = nil) {
        self.severity = severity
        self.message = message
        self.location = location
        self.sourceLine = sourceLine
    }

    /// The first line: `file:line:column: severity: message`.
    public var headline: String {
        if let location { return "\(location): \(severity.rawValue): \(message)" }
        return "\(severity.rawValue): \(message)"
    }

    /// The full rendering: headline, source line and caret.
    public var description: String {
        guard let location, let sourceLine else { return headline }
        var caret = ""
        var column = 1
        for scalar in sourceLine.unicodeScalars where column < location.column {
            caret.append(scalar == "\t" ? "\t" : " ")
            column += 1
        }
        while column < location.column {
            caret.append(" ")
            column += 1
        }
        caret.append("^")
        return headline + "\n" + sourceLine + "\n" + caret
    }
}

/// Collects the diagnostics of one compilation, in the order they were found.
struct DiagnosticLog {
    private(set) var diagnostics: [Diagnostic] = []
    private(set) var errorCount = 0
    /// After this many errors the compiler stops adding more (a garbage file would otherwise
    /// produce a message per token).
    var errorLimit = 1000

    var isFull: Bool { errorCount >= errorLimit }

    mutating func report(_ diagnostic: Diagnostic) {
        if diagnostic.severity == .error {
            guard errorCount < errorLimit else { return }
            errorCount += 1
        }
        diagnostics.append(diagnostic)
    }

    mutating func error(_ message: @autoclosure () -> String, in file: SourceFile, at offset: Int) {
        guard errorCount < errorLimit else { return }
        report(file.diagnostic(.error, message(), at: offset))
    }

    mutating func warning(_ message: String, in file: SourceFile, at offset: Int) {
        report(file.diagnostic(.warning, message, at: offset))
    }

    mutating func append(contentsOf other: DiagnosticLog) {
        for d in other.diagnostics { report(d) }
    }
}

extension SourceFile {
    func diagnostic(_ severity: Diagnostic.Severity, _ message: String, at offset: Int) -> Diagnostic {
        let location = location(of: offset)
        return Diagnostic(severity, message, at: location, sourceLine: lineText(location.line))
    }
}
