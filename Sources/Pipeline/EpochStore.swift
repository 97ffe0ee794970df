public import Aggregation

/// Why an epoch or an offsets read failed.
public struct EpochStoreError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The fencing check failed: the stored offset of `partition` is no longer the epoch's start.
        case fenced
        /// The database cannot be reached or the transaction failed transiently: retry.
        case unavailable
        /// The epoch was refused for a reason a retry cannot fix (a bug or a schema problem).
        case rejected
        /// The database refused the epoch's data (see `sqlState`): some record in it cannot be written.
        /// The pipeline isolates the record(s) and rejects them; the rest commits.
        case unwritable
    }
    public var kind: Kind
    public var detail: String
    /// The SQLSTATE of an `.unwritable` error (nil when our own validation refused the epoch).
    public var sqlState: String?
    public init(_ kind: Kind, _ detail: String, sqlState: String? = nil) {
        self.kind = kind
        self.detail = detail
        self.sqlState = sqlState
    }
    public var description: String { "\(kind): \(detail)" }
}

/// The ledger as the pipeline sees it: write one sealed epoch in ONE transaction with the fencing
/// check, and read the stored offsets. One instance per thread (it owns a connection); the writer
/// thread and the ingest thread each have their own.
public protocol EpochStore: AnyObject {
    /// Writes the epoch's deltas, rejected records, retention gaps and offset advances atomically.
    /// Throws `.fenced` (nothing written) when any partition's stored offset is not the advance's `from`.
    func write(_ epoch: SealedEpoch, group: String, writer: String) throws(EpochStoreError)
    /// `next_offset` of each partition that has a row.
    func readOffsets(group: String, partitions: [PartitionKey]) throws(EpochStoreError) -> [PartitionKey: Int64]
}
