import SQLCore

extension Connection {
    /// Runs `body` in a transaction: `BEGIN`, then `COMMIT` when `body` returns, `ROLLBACK`
    /// when it throws (any error), and rethrows. Nested calls (and calls inside a transaction
    /// the caller began) use savepoints, so an inner failure undoes only the inner work when the
    /// outer body catches it.
    @discardableResult
    ///
    /// `durable`: the commit returns only once it is on disk (`synchronous_commit = on` for
    /// this transaction, whatever the cluster's default) — for what is acknowledged to a client
    /// the moment it commits (ingest: the agent deletes what a 200 settled).
    public func transaction<T>(durable: Bool = false, _ body: (Connection) throws -> T) throws -> T {
        // Inside a transaction (one of ours, or a BEGIN the caller ran), nest with a savepoint.
        let savepoint = transactionDepth > 0 || isInTransaction ? "cimdb_savepoint_\(transactionDepth)" : nil
        if let savepoint {
            try execute("SAVEPOINT \(identifier: savepoint)")
        } else {
            try execute("BEGIN")
            if durable { try execute("SET LOCAL synchronous_commit = on") }
        }
        transactionDepth += 1
        let value: T
        do {
            value = try body(self)
        } catch {
            transactionDepth -= 1
            rollBack(to: savepoint)
            throw error
        }
        transactionDepth -= 1
        do {
            if let savepoint {
                try execute("RELEASE SAVEPOINT \(identifier: savepoint)")
            } else {
                try execute("COMMIT")
            }
        } catch {
            rollBack(to: savepoint)
            throw error
        }
        return value
    }

    /// Best-effort rollback after a failure: the original error is the one worth reporting.
    private func rollBack(to savepoint: String?) {
        if let savepoint {
            _ = try? execute("ROLLBACK TO SAVEPOINT \(identifier: savepoint)")
            _ = try? execute("RELEASE SAVEPOINT \(identifier: savepoint)")
        } else if isInTransaction {
            _ = try? execute("ROLLBACK")
        }
    }
}
