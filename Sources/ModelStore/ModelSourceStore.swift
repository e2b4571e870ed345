public import CIM
import Foundation
import Migrations
import MOF
import ORM
import SQLCore
public import Store

/// The MOF source of the installed model (`cimdb.model_source`): the files compiled and the
/// files they include, as the compiler read them. The catalog tables keep what queries need;
/// the source keeps everything else (every qualifier, methods), for `cimdb export --classes`.
public enum ModelSourceStore {
    /// Stores the default model's files (`mof/`, built in) unless a model source is stored.
    public static func storeDefaultIfMissing(on connection: Connection) throws {
        let stored = try connection.execute("SELECT count(*) AS n FROM cimdb.model_source").first?.int64("n") ?? 0
        guard stored == 0 else { return }
        var files: [String: String] = [:]
        for (path, base64) in DefaultModelSource.files {
            files[path] = Data(base64Encoded: base64).map { String(decoding: $0, as: UTF8.self) }
        }
        try store(files: files, roots: [DefaultModelSource.root], on: connection)
    }

    /// Replaces the stored source: `files` by the path the compiler read them under, `roots` the
    /// files compiled, in order.
    public static func store(files: [String: String], roots: [String], on connection: Connection) throws {
        try connection.transaction { connection in
            try connection.execute("DELETE FROM cimdb.model_source")
            for (path, content) in files.sorted(by: { $0.key < $1.key }) {
                try connection.execute(
                    "INSERT INTO cimdb.model_source (path, content, root_order) VALUES (\(path), \(content), \(roots.firstIndex(of: path).map { SQLValue($0) } ?? SQLValue(nil as String?)))"
                )
            }
        }
    }

    /// The stored files and the roots in order; nil when none is stored.
    public static func load(from connection: Connection) throws -> (files: [String: String], roots: [String])? {
        var files: [String: String] = [:]
        var roots: [(Int64, String)] = []
        for row in try connection.execute("SELECT path, content, root_order FROM cimdb.model_source") {
            guard let path = row["path"], let content = row["content"] else { continue }
            files[path] = content
            if let order = row.int64("root_order") { roots.append((order, path)) }
        }
        if files.isEmpty { return nil }
        return (files, roots.sorted { $0.0 < $1.0 }.map(\.1))
    }

    /// The installed model, compiled from the stored source; nil when none is stored.
    public static func model(from connection: Connection) throws -> Model? {
        guard let source = try load(from: connection) else { return nil }
        let files = source.files
        // Paths as the compiler asked for them at migrate time; an include resolved through
        // another directory then is found by its path's tail.
        let compiler = Compiler { path in
            if let text = files[path] { return Array(text.utf8) }
            let trimmed = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
            if let text = files[trimmed] { return Array(text.utf8) }
            return files.first { $0.key.hasSuffix("/" + trimmed) || trimmed.hasSuffix("/" + $0.key) }.map { Array($0.value.utf8) }
        }
        let compilation = compiler.compile(files: source.roots)
        if compilation.hasErrors {
            throw ModelSourceError(
                message: "the stored model source does not compile: " + compilation.errors.prefix(3).map(\.description).joined(separator: "; "))
        }
        return compilation.model
    }
}

public struct ModelSourceError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
