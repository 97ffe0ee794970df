public import Aggregation
import Foundation
import Ledger

/// The Postgres `EpochStore`: hands a sealed epoch's deltas and offsets plan to `LedgerEpochWriter` as
/// they are, on a connection this store alone owns (one store per thread; it reconnects after
/// a broken connection). Ledger errors map to `.fenced` (nothing written; resync), `.unwritable` (the
/// epoch's own data was refused: SQLSTATE classes 22, 23 and 54, or an epoch that fails validation;
/// retrying the same epoch cannot help), or `.unavailable` (connection-level and everything else: retry).
public final class LedgerEpochStore: EpochStore, @unchecked Sendable {
    // Safe: used by one thread at a time (the writer thread, or `StartOffsets` under its Mutex).
    private let conninfo: String
    private let writer: LedgerEpochWriter
    private var connection: PGConnection?

    public init(conninfo: String, schema: String, attributionGrace: Duration) throws(EpochStoreError) {
        self.conninfo = conninfo
        do {
            self.writer = LedgerEpochWriter(
                schema: LedgerSchema(schema: try SchemaName(schema)), attributionGrace: attributionGrace)
        } catch {
            throw EpochStoreError(.rejected, "database.schema: \(error)")
        }
    }

    private func connected() throws(EpochStoreError) -> PGConnection {
        if let c = connection, c.isHealthy { return c }
        connection = nil
        do {
            let c = try PGConnection.connect(conninfo: conninfo)
            connection = c
            return c
        } catch {
            throw EpochStoreError(.unavailable, "\(error)")
        }
    }

    private func map(_ error: any Error) -> EpochStoreError {
        if let e = error as? LedgerError {
            if e.code == .fenced { return EpochStoreError(.fenced, e.description) }
            if e.code == .connectionLost || e.code == .connectionFailed || !(connection?.isHealthy ?? false) {
                connection = nil
                return EpochStoreError(.unavailable, e.description)
            }
            if e.code == .invalidEpoch || e.code == .invalidMonth {
                return EpochStoreError(.unwritable, e.description, sqlState: nil)
            }
            if let state = e.sqlState, Self.isDataError(state) {
                return EpochStoreError(.unwritable, e.description, sqlState: state)
            }
            return EpochStoreError(.unavailable, e.description)
        }
        return EpochStoreError(.unavailable, "\(error)")
    }

    /// SQLSTATEs a record's data can cause: class 22 (data exception: out of range, bad encoding, bad
    /// datetime), class 23 (integrity: a constraint the data breaks; 23514 for a missing partition is
    /// retried inside the writer first), class 54 (program limit: an index row too large).
    static func isDataError(_ state: String) -> Bool {
        state.hasPrefix("22") || state.hasPrefix("23") || state.hasPrefix("54")
    }

    public func write(_ epoch: SealedEpoch, group: String, writer writerID: String) throws(EpochStoreError) {
        // The deltas are written as they are (no copy); the writer's validation errors map to `.unwritable`.
        let ledgerEpoch = LedgerEpoch(consumerGroup: group, writerID: writerID, plan: epoch.plan, deltas: epoch.deltas)
        let c = try connected()
        do {
            _ = try writer.write(ledgerEpoch, on: c)
        } catch {
            c.rollbackIfNeeded()
            throw map(error)
        }
    }

    /// Stored offsets of `partitions`. A connection kept from an earlier call that turns out dead (the
    /// server restarted, or `pg_terminate_backend` ended it while idle) gets one retry on a new
    /// connection: a read is safe to repeat, and a failed read at assignment leaves the partitions
    /// waiting unsynced (chaos seed 304: a stale connection at a rebalance).
    public func readOffsets(group: String, partitions: [PartitionKey]) throws(EpochStoreError) -> [PartitionKey: Int64] {
        let reused = connection != nil
        do {
            return try readOffsetsOnce(group: group, partitions: partitions)
        } catch where reused && error.kind == .unavailable {
            return try readOffsetsOnce(group: group, partitions: partitions)
        }
    }

    private func readOffsetsOnce(group: String, partitions: [PartitionKey]) throws(EpochStoreError) -> [PartitionKey: Int64] {
        let c = try connected()
        do {
            return try writer.readOffsets(group: group, partitions: partitions, on: c)
        } catch {
            throw map(error)
        }
    }
}
