import CIM
import Inventory
import ModelStore
import ORM
import SQLCore
import Store

/// Planner settings for a round of ingest, for the rest of its transaction.
///
/// Every statement of a round looks rows up by key, a few thousand at most: index probes, in
/// nested loops where there are joins. Left to its statistics, which lag behind an inventory
/// that grows by thousands of rows a second, the planner scans or hashes whole tables instead
/// (measured: `path = ANY(6,400 paths)` as a sequential scan took 69 ms at 380,000 instances
/// and kept growing), and a round's cost grows with the inventory instead of with the round.
enum IndexProbes {
    static func only(on connection: Connection) throws {
        // One round trip for the three settings.
        try connection.executeScript("SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
    }
}
