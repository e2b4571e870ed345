/// The name of an instance: its class and key values, written in the untyped WBEM URI form of
/// DSP0207 without namespace — the form pywbem's `CIMInstanceName.from_wbem_uri` reads:
///
///     CIM_EthernetPort.CreationClassName="CIM_EthernetPort",DeviceID="eth0",SystemName="n1"
///
/// Strings (and datetimes) are double-quoted with `\"`, `\\` and `\n` escapes; numbers and
/// booleans are bare; char16 values are single-quoted; a reference is the nested path,
/// quoted and escaped like a string.
public struct InstancePath: Sendable, Hashable, CustomStringConvertible {
    public var className: String
    /// Key bindings in the order they are written.
    public var keys: [Binding]

    public struct Binding: Sendable, Hashable {
        public var name: String
        public var value: Value
        public init(name: String, value: Value) {
            self.name = name
            self.value = value
        }
    }

    public init(className: String, keys: [Binding]) {
        self.className = className
        self.keys = keys
    }

    public init(className: String, keys: [(String, Value)]) {
        self.init(className: className, keys: keys.map { Binding(name: $0.0, value: $0.1) })
    }

    /// The key value bound to `name`, compared case-insensitively.
    public func value(of name: String) -> Value? {
        keys.first { sameName($0.name, name) }?.value
    }

    public var description: String {
        // Built as UTF-8 bytes: ingest formats a path for every line it reads.
        var out: [UInt8] = []
        out.reserveCapacity(className.utf8.count + keys.count * 32)
        out.append(contentsOf: className.utf8)
        for (i, binding) in keys.enumerated() {
            out.append(i == 0 ? UInt8(ascii: ".") : UInt8(ascii: ","))
            out.append(contentsOf: binding.name.utf8)
            out.append(UInt8(ascii: "="))
            switch binding.value {
            case .string(let s), .datetime(let s), .reference(let s):
                out.append(UInt8(ascii: "\""))
                Self.appendEscaped(s, quote: UInt8(ascii: "\""), to: &out)
                out.append(UInt8(ascii: "\""))
            default:
                out.append(contentsOf: Self.format(binding.value).utf8)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A key value as written in a path.
    public static func format(_ value: Value) -> String {
        switch value {
        case .string(let s), .datetime(let s), .reference(let s): quote(s)
        case .char16(let c): "'" + escape(String(decoding: [c], as: UTF16.self), quote: "'") + "'"
        case .boolean(let b): b ? "true" : "false"
        case .signed(let i): String(i)
        case .unsigned(let u): String(u)
        case .real(let d): String(d)
        case .null: "\"\""
        case .array(let a): quote(a.map { $0.stringValue ?? $0.description }.joined(separator: ","))
        }
    }

    /// `"` + the text with `\`, `"` and line breaks escaped + `"`.
    public static func quote(_ text: String) -> String {
        "\"" + escape(text, quote: "\"") + "\""
    }

    /// Escapes byte by byte, never by Character (a quote or backslash followed by a combining
    /// mark is one Character, and must still be escaped): the escaped characters are ASCII, and
    /// no byte of a multi-byte UTF-8 sequence is ASCII.
    static func escape(_ text: String, quote: Unicode.Scalar) -> String {
        precondition(quote.isASCII, "quotes are ASCII")
        let q = UInt8(quote.value)
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x0A || $0 == 0x0D || $0 == q }) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 8)
        appendEscaped(text, quote: q, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendEscaped(_ text: String, quote q: UInt8, to out: inout [UInt8]) {
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x0A || $0 == 0x0D || $0 == q }) else {
            out.append(contentsOf: text.utf8)
            return
        }
        for byte in text.utf8 {
            switch byte {
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case q: out.append(0x5C); out.append(q)
            default: out.append(byte)
            }
        }
    }
}
