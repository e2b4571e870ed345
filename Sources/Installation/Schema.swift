import Migrations
import ModelStore
import SQLCore
public import Store

/// cimdb's schema in a database: installed or upgraded in one call (what `cimdb migrate` does
/// without `--model`, and what tests and benchmarks start from).
public enum Schema {
    /// Applies cimdb's migrations that are not applied yet, stores the default model's source
    /// unless a model source is stored, and rebuilds the report views. Returns the migrations
    /// applied now (empty when the database was up to date).
    @discardableResult
    public static func install(on connection: Connection) throws -> [Migration] {
        try connection.execute("SET client_min_messages = warning")
        let applied = try Migrator().apply(EmbeddedMigrations.all, on: connection)
        try ModelSourceStore.storeDefaultIfMissing(on: connection)
        try Reports.install(on: connection)
        return applied
    }
}
