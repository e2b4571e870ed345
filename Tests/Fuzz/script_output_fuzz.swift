// libFuzzer entry for the script-output parser (Sources/Inventory/Wire/ScriptOutput*.swift).
//
// The first input byte chooses the expected field count (0 → any, else 1…7); the rest is the
// output. Checks, beyond "no crash": errors are within the limit, ordered, with positions on the
// input's lines; a returned line has the expected fields and increasing columns; and whatever
// parsed re-encodes (`encodeLine`) to an output that parses to the same fields, which `check`
// accepts — also its array entries (`encodeArray(entries)` gives the field back).
// Built by Tests/Fuzz/build.sh; run by Tests/Fuzz/run.sh.

import Inventory

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let fields: Int? = data[0] % 8 == 0 ? nil : Int(data[0] % 8)
    let output = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let (lines, errors) = ScriptOutput.parse(output, fields: fields)

    let physicalLines = output.split(separator: 0x0A, omittingEmptySubsequences: false)
    precondition(errors.count <= ScriptOutput.errorLimit, "too many errors")
    var previous = (line: 0, column: 0)
    for error in errors {
        precondition(error.line >= 1 && error.line <= physicalLines.count, "error line out of range: \(error)")
        // A column is at most one past the line's last character (bytes bound the characters).
        precondition(error.column >= 1 && error.column <= physicalLines[error.line - 1].count + 1, "error column out of range: \(error)")
        precondition((error.line, error.column) >= previous || error.line > previous.line, "errors out of order: \(error)")
        previous = (error.line, error.column)
    }
    let errorLines = Set(errors.map(\.line))
    var lastLine = 0
    for line in lines {
        precondition(line.number > lastLine && !errorLines.contains(line.number), "line \(line.number) returned twice or with an error")
        lastLine = line.number
        let physical = physicalLines[line.number - 1]
        precondition(!physical.isEmpty && !(physical.count == 1 && physical.first == 0x0D), "a blank line was returned")
        if let fields { precondition(line.fields.count == fields, "line \(line.number) has \(line.fields.count) fields") }
        precondition(line.fieldColumns.count == line.fields.count && line.fieldColumns.first == 1, "bad columns")
        precondition(zip(line.fieldColumns, line.fieldColumns.dropFirst()).allSatisfy { $0 < $1 }, "columns not increasing")
        precondition(ScriptOutput.check(line.fields) == nil, "check rejects parsed fields: \(line.fields)")
        let (again, againErrors) = ScriptOutput.parse(ScriptOutput.encodeLine(line.fields), fields: line.fields.count)
        precondition(againErrors.isEmpty && again.count == 1 && again[0].fields == line.fields, "re-encoding changed \(line.fields)")
        for field in line.fields {
            precondition(ScriptOutput.encodeArray(field.entries) == field, "entries do not re-encode: \(field)")
        }
    }
    // Below the error limit, every non-blank line is either returned or has an error (a line
    // that is only the CR of a CR LF line end is blank).
    if errors.count < ScriptOutput.errorLimit {
        let nonBlank = physicalLines.filter { !$0.isEmpty && !($0.count == 1 && $0.first == 0x0D) }.count
        precondition(lines.count + errorLines.count == nonBlank, "a line was lost")
    }
    return 0
}
