public import CIM

/// One MOF file as bytes, with the table of line starts that turns byte offsets into
/// line and column numbers.
public final class SourceFile: Sendable {
    /// The path as the user (or an include pragma) named it; used in diagnostics.
    public let path: String
    public let bytes: [UInt8]
    private let lineStarts: [Int]

    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
        var starts = [0]
        starts.reserveCapacity(bytes.count / 32)
        var high: UInt8 = 0
        bytes.withUnsafeBufferPointer { buffer in
            for i in 0..<buffer.count {
                let byte = buffer[i]
                high |= byte
                if byte == 0x0A { starts.append(i + 1) }
            }
        }
        // Pure-ASCII files (the usual case) need no table: a column is an offset difference.
        var blocks: [Int] = []
        var continuations = 0
        if high & 0x80 != 0 {
            blocks.reserveCapacity(bytes.count / Self.blockSize + 1)
            bytes.withUnsafeBufferPointer { buffer in
                for i in 0..<buffer.count {
                    if i & (Self.blockSize - 1) == 0 { blocks.append(continuations) }
                    if buffer[i] & 0xC0 == 0x80 { continuations += 1 }
                }
            }
        }
        self.lineStarts = starts
        self.continuationsBeforeBlock = continuations == 0 ? [] : blocks
        self.totalContinuations = continuations
    }

    /// Columns count characters. For files with multi-byte UTF-8, the number of continuation
    /// bytes before every 256-byte block, so that a column costs O(256) however long the line
    /// (the fuzzer found a quadratic slow-down on one-line files).
    private let continuationsBeforeBlock: [Int]
    private let totalContinuations: Int
    private static let blockSize = 256

    private func continuations(before offset: Int) -> Int {
        if offset >= bytes.count { return totalContinuations }
        let block = offset / Self.blockSize
        var count = continuationsBeforeBlock[block]
        for i in (block * Self.blockSize)..<offset where bytes[i] & 0xC0 == 0x80 { count += 1 }
        return count
    }

    public convenience init(path: String, text: String) {
        self.init(path: path, bytes: Array(text.utf8))
    }

    /// The 0-based index of the line containing `offset`.
    private func lineIndex(of offset: Int) -> Int {
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// The 1-based line and column of a byte offset; the column counts characters, not bytes.
    public func lineAndColumn(of offset: Int) -> (line: Int, column: Int) {
        let offset = min(max(offset, 0), bytes.count)
        let line = lineIndex(of: offset)
        let start = lineStarts[line]
        guard !continuationsBeforeBlock.isEmpty else { return (line + 1, offset - start + 1) }
        let inLine = continuations(before: offset) - continuations(before: start)
        return (line + 1, offset - start - inLine + 1)
    }

    public func location(of offset: Int) -> SourceLocation {
        let (line, column) = lineAndColumn(of: offset)
        return SourceLocation(file: path, line: line, column: column)
    }

    /// The text of the 1-based line `line`, without its line terminator.
    public func lineText(_ line: Int) -> String {
        guard line >= 1, line <= lineStarts.count else { return "" }
        let start = lineStarts[line - 1]
        var end = line < lineStarts.count ? lineStarts[line] - 1 : bytes.count
        if end > start, end <= bytes.count, end - 1 >= start, bytes[end - 1] == 0x0D { end -= 1 }
        guard end > start else { return "" }
        return String(decoding: bytes[start..<min(end, start + Self.maximumLineDisplay)], as: UTF8.self)
    }

    /// Source lines shown under a diagnostic are cut after this many bytes (a minified or
    /// binary file can be one huge line).
    static let maximumLineDisplay = 4096
}
