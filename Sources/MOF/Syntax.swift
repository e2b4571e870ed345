import CIM

/// The syntax tree of a MOF file: what the parser produces and the resolver consumes.
/// Every node keeps the byte offset of the token that names it, so that the resolver can
/// point at it; `file` indexes the compilation's file table.

/// A literal value as written, before it is checked against a declared type.
indirect enum Literal: Sendable {
    case null
    case boolean(Bool)
    case integer(negative: Bool, magnitude: UInt64)
    case real(Double)
    case string(String)
    case char16(UInt16)
    case alias(String)
    case array([LiteralSyntax])
}

struct LiteralSyntax: Sendable {
    var literal: Literal
    var offset: Int
}

struct FlavorSyntax: Sendable {
    var keyword: FlavorKeyword
    var offset: Int
}

struct QualifierSyntax: Sendable {
    var name: String
    var offset: Int
    /// nil when the qualifier is written without a value (`[Key]`).
    var value: LiteralSyntax?
    var flavors: [FlavorSyntax]
}

/// The declared type of a property, parameter or method: a data type, or `ClassName REF`.
struct TypeSyntax: Sendable {
    var type: DataType
    var referenceClass: String?
    var offset: Int
}

struct QualifierDeclarationSyntax: Sendable {
    var name: String
    var offset: Int
    var type: TypeSyntax
    var isArray: Bool
    var arraySize: Int?
    var defaultValue: LiteralSyntax?
    var scopes: [(scope: Scope, offset: Int)]
    var flavors: [FlavorSyntax]
}

struct PropertySyntax: Sendable {
    var qualifiers: [QualifierSyntax]
    var name: String
    var offset: Int
    var type: TypeSyntax
    var isArray: Bool
    var arraySize: Int?
    var defaultValue: LiteralSyntax?
}

struct ParameterSyntax: Sendable {
    var qualifiers: [QualifierSyntax]
    var name: String
    var offset: Int
    var type: TypeSyntax
    var isArray: Bool
    var arraySize: Int?
    var defaultValue: LiteralSyntax?
}

struct MethodSyntax: Sendable {
    var qualifiers: [QualifierSyntax]
    var name: String
    var offset: Int
    var returnType: TypeSyntax
    var parameters: [ParameterSyntax]
}

struct ClassSyntax: Sendable {
    var qualifiers: [QualifierSyntax]
    var name: String
    var offset: Int
    var superclass: String?
    var superclassOffset: Int
    var properties: [PropertySyntax]
    var methods: [MethodSyntax]
}

struct PropertyValueSyntax: Sendable {
    var qualifiers: [QualifierSyntax]
    var name: String
    var offset: Int
    var value: LiteralSyntax
}

struct InstanceSyntax: Sendable {
    var qualifiers: [QualifierSyntax]
    var className: String
    var offset: Int
    var alias: String?
    var aliasOffset: Int
    var values: [PropertyValueSyntax]
}

/// One top-level production of a MOF file.
enum Production: Sendable {
    case qualifierDeclaration(QualifierDeclarationSyntax)
    case classDeclaration(ClassSyntax)
    case instanceDeclaration(InstanceSyntax)
    /// `#pragma include ("path")`: the path as written, and the offset of the string.
    case include(path: String, offset: Int)
    /// `#pragma namespace ("root/cimv2")`.
    case namespace(String)
}

/// The parse of one file.
struct SyntaxFile: Sendable {
    var file: SourceFile
    var productions: [Production]
    var diagnostics: [Diagnostic]
}
