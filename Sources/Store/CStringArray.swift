import SQLCore

/// NUL-terminated copies of Swift strings in one buffer, as the `const char *const *` arrays
/// libpq takes. `nil` strings become null pointers; the array always ends with one more null
/// pointer (`PQconnectdbParams` needs it, `PQexecParams` ignores it).
enum CStringArray {
    /// Calls `body` with pointers to NUL-terminated copies of `strings`, valid during the call.
    static func with<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) throws -> R) rethrows -> R {
        var storage: [CChar] = []
        var offsets: [Int?] = []
        offsets.reserveCapacity(strings.count)
        for string in strings {
            guard let string else {
                offsets.append(nil)
                continue
            }
            offsets.append(storage.count)
            for byte in string.utf8 { storage.append(CChar(bitPattern: byte)) }
            storage.append(0)
        }
        return try storage.withUnsafeBufferPointer { buffer in
            var pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
                offset.map { buffer.baseAddress! + $0 }
            }
            pointers.append(nil)
            return try pointers.withUnsafeBufferPointer { try body($0.baseAddress!) }
        }
    }

    /// Calls `body` with pointers to NUL-terminated copies of `strings`, valid during the call.
    static func with<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) throws -> R) rethrows -> R {
        try with(strings.map { Optional($0) }, body)
    }
}
