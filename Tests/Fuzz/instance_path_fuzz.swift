// libFuzzer entry for instance paths (Sources/CIM/InstancePath*.swift).
//
// The input (decoded as UTF-8, malformed sequences replaced) is parsed as an instance path. An
// error's column must lie within the text (or one past it). A parsed path must format to text
// that parses to the same path, and so must every quoted value that is itself a path (nested
// references, two levels deep). Built by Tests/Fuzz/build.sh; run by Tests/Fuzz/run.sh.

import CIM

func roundTrip(_ text: String, depth: Int) {
    let path: InstancePath
    do {
        path = try InstancePath.parse(text)
    } catch {
        precondition(error.column >= 1 && error.column <= text.unicodeScalars.count + 1, "column out of range: \(error)")
        return
    }
    let formatted = path.description
    guard let again = try? InstancePath.parse(formatted) else {
        preconditionFailure("formatted path does not parse: \(formatted)")
    }
    precondition(again == path, "format → parse changed the path: \(formatted)")
    precondition(again.description == formatted, "formatting is not stable: \(formatted)")
    if depth < 2 {
        for binding in path.keys {
            if case .string(let nested) = binding.value { roundTrip(nested, depth: depth + 1) }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    roundTrip(String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self), depth: 0)
    return 0
}
