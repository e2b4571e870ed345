/// Names that become file names on a node: settings ids (the instance cache, `cache/ID`) and
/// whatever else a server names that an agent stores. A name is a plain file name — letters,
/// digits, `.`, `_` and `-`, not starting with `.`, at most 200 bytes — so that no name, from a
/// configuration or from a man in the middle, can point outside the directory it is used in
/// (`../x`, `/etc/x`, `a/b`) or hide (`.x`).
public enum FileName {
    /// Why `name` is not a plain file name; nil when it is one.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "an empty name" }
        if name.utf8.count > 200 { return "a name over 200 bytes" }
        if name.utf8.first == UInt8(ascii: ".") { return "'\(name)' (starts with '.')" }
        let allowed = name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
        }
        return allowed ? nil : "'\(name)' (only letters, digits, '.', '_' and '-')"
    }
}
