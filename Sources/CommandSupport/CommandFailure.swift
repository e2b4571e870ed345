/// A domain error for the user: printed as `Error: …`, exit status 1.
public struct CommandFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
