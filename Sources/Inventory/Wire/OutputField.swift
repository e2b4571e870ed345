import CIM

/// One field of a script-output line: empty (written as GS, 0x1D) or a value.
///
/// A value is unescaped: `\n` in the output is a line feed here, `\\` a backslash. The value
/// of an array property keeps its structure: entries separated by US (0x1F), an empty entry
/// written as GS — read them with `entries`. The parser only produces values that are
/// non-empty and whose GS and US characters form that array structure; whether a field may
/// be an array at all is for the property's declared type to say.
public enum OutputField: Sendable, Hashable {
    /// The field is the single character GS: the empty string for string and char16
    /// properties, NULL for every other type.
    case empty
    /// The field's text, unescaped.
    case value(String)

    /// The entries of an array value: the value split on US, each entry that is GS `.empty`.
    /// `.empty` has no entries (NULL).
    ///
    /// Zero entries, one empty entry and NULL are the same field on the wire (GS): an array of
    /// one empty entry reads back as no entries.
    public var entries: [OutputField] {
        guard case .value(let text) = self else { return [] }
        guard text.unicodeScalars.contains(ScriptOutput.entrySeparatorScalar) else {
            return [text == ScriptOutput.emptyMarkString ? .empty : .value(text)]
        }
        return text.unicodeScalars.split(separator: ScriptOutput.entrySeparatorScalar, omittingEmptySubsequences: false).map { entry in
            let entry = String(String.UnicodeScalarView(entry))
            return entry == ScriptOutput.emptyMarkString ? .empty : .value(entry)
        }
    }

    /// The text of the field, with `.empty` as the empty string.
    public var text: String {
        switch self {
        case .empty: ""
        case .value(let text): text
        }
    }
}
