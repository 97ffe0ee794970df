import Aggregation

/// Finds the record(s) whose data the database refuses, so that one such record never stops a partition.
///
/// When an epoch is unwritable (the database refused its data, SQLSTATE class 22/23/54), the ingest thread
/// voids it, re-reads its partitions from the stored offsets, and feeds this state machine: the failed
/// epoch's offset ranges are *quarantined*, and while any quarantine range is open, epochs are sealed
/// every `epochRecordLimit` records. A failed epoch of M > 1 records halves the limit (to M / 2); a failed
/// epoch of exactly one record names the culprit, which is *poisoned*: on the next read it is rejected
/// with a reason (`value_out_of_range` for SQLSTATE 22003, else `unwritable`) instead of folded. Each
/// committed epoch doubles the limit again. This is a bisection over re-reads: O(log M) failed writes per
/// culprit, and the records around it commit normally.
///
/// A pure value (no I/O, no clock), owned by the ingest thread; it survives resyncs. Bounded: at most
/// `poisonedMax` poisoned offsets are remembered (each costs a failed epoch; they are pruned as soon as
/// an epoch moves past them).
struct Quarantine: Sendable {
    /// Why a poisoned record is rejected.
    struct Poison: Sendable, Equatable {
        var reason: RejectReason
        var detail: String
    }

    static let poisonedMax = 10_000
    /// The limit never grows past this while a quarantine is open.
    static let limitMax = 100_000

    /// Offsets still to be re-read under isolation, per partition: [from, to).
    private(set) var ranges: [PartitionKey: (from: Int64, to: Int64)] = [:]
    /// Records per epoch at most while `ranges` is not empty; nil = no quarantine.
    private(set) var epochRecordLimit: Int?
    private var poisoned: [PartitionKey: [Int64: Poison]] = [:]
    /// Poisoned offsets remembered (only counted when an epoch fails: rare).
    private var poisonedCount: Int { poisoned.values.reduce(0) { $0 + $1.count } }

    var isActive: Bool { epochRecordLimit != nil }

    /// An epoch of `records` taken records over `advances` could not be written. `single` is its one
    /// record when it held exactly one.
    mutating func epochUnwritable(
        records: Int, advances: [PartitionAdvance], single: (key: PartitionKey, offset: Int64)?, sqlState: String?,
        detail: String
    ) {
        for a in advances where a.to > (a.from ?? 0) {
            let from = a.from ?? 0
            if let r = ranges[a.partition] {
                ranges[a.partition] = (min(r.from, from), max(r.to, a.to))
            } else {
                ranges[a.partition] = (from, a.to)
            }
        }
        if records <= 1, let single {
            if poisonedCount < Self.poisonedMax, poisoned[single.key]?[single.offset] == nil {
                let reason: RejectReason = sqlState == "22003" ? .valueOutOfRange : .unwritable
                let text = "the database refused this record's data"
                    + (sqlState.map { " (SQLSTATE \($0))" } ?? "") + ": " + detail
                poisoned[single.key, default: [:]][single.offset] = Poison(
                    reason: reason, detail: BoundedText.key(text, limit: BoundedText.detailLimit))
            }
            epochRecordLimit = 1
        } else {
            epochRecordLimit = max(1, min(epochRecordLimit ?? Int.max, records / 2))
        }
        if ranges.isEmpty, poisonedCount == 0 { epochRecordLimit = nil }
    }

    /// The reason to reject the record at `offset` instead of folding it, if it is poisoned.
    func poison(_ key: PartitionKey, offset: Int64) -> Poison? {
        // Called for every record: no hashing of the key while nothing is poisoned (nearly always).
        guard !poisoned.isEmpty else { return nil }
        return poisoned[key]?[offset]
    }

    /// A record was taken: a range the ingest has read past is closed; with none left, the quarantine ends.
    mutating func recordTaken(_ key: PartitionKey, offset: Int64) {
        guard !ranges.isEmpty, let r = ranges[key], offset >= r.to else { return }
        ranges[key] = nil
        if ranges.isEmpty { epochRecordLimit = nil }
    }

    /// An epoch committed: poisoned offsets below its ends are done; isolation widens again.
    mutating func epochCommitted(_ advances: [PartitionAdvance]) {
        for a in advances {
            if let offsets = poisoned[a.partition]?.filter({ $0.key >= a.to }) {
                poisoned[a.partition] = offsets.isEmpty ? nil : offsets
            }
            if let r = ranges[a.partition], a.to >= r.to { ranges[a.partition] = nil }
        }
        if ranges.isEmpty {
            epochRecordLimit = nil
        } else if let limit = epochRecordLimit {
            epochRecordLimit = min(Self.limitMax, limit * 2)
        }
    }

    /// Partitions left this worker: their quarantine is the new owner's business.
    mutating func partitionsRemoved(_ keys: [PartitionKey]) {
        for k in keys {
            ranges[k] = nil
            poisoned[k] = nil
        }
        if ranges.isEmpty { epochRecordLimit = nil }
    }
}
