public import Aggregation

/// What one ``LedgerEpochWriter/write(_:on:)`` commits: the shards' ``EpochDelta``s and the offsets plan
/// of one sealed epoch, plus who writes it. The rows are Aggregation's own values, encoded as they are
/// (no copy into other row types); `transactions` keys that several deltas share are added up by the
/// writer before its COPY (checked), other tables' by its `GROUP BY`.
///
/// Guarantees (checked by ``validate()``; the writer checks the same while it encodes the rows, before
/// any I/O): a consumer group
/// and writer id are set; every hour lies in a valid ``Month`` (`LedgerError.invalidMonth` otherwise);
/// Σ of the transactions' cost equals Σ of the trace-hours' cost over all deltas and slices (so the ledger
/// invariant Σ transactions = Σ domain_hourly + Σ pending_attribution holds after the commit); each
/// partition appears once in the plan and never moves backwards.
public struct LedgerEpoch: Sendable {
    public var consumerGroup: String
    public var writerID: String
    /// Offsets to move (fencing), retention gaps, and the newest record time ("now" for the grace rule).
    public var plan: SealedEpochPlan
    /// One per shard (any number); each may hold several slices (``EpochDelta/slices``).
    public var deltas: [EpochDelta]

    public init(consumerGroup: String, writerID: String, plan: SealedEpochPlan, deltas: [EpochDelta] = []) {
        self.consumerGroup = consumerGroup
        self.writerID = writerID
        self.plan = plan
        self.deltas = deltas
    }

    /// Every slice of every delta (the open slice, then the closed ones, delta by delta).
    var slices: [EpochDelta] { deltas.flatMap(\.slices) }

    /// The months the epoch writes to (partitions it needs).
    public func months() throws -> Set<Month> {
        var months = Set<Month>()
        for slice in slices {
            for key in slice.transactions.keys { months.insert(key.month) }
            for key in slice.sessions.keys { months.insert(key.month) }
            for key in slice.traceHours.keys { months.insert(try Self.month(of: key.hour)) }
            for key in slice.models.keys { months.insert(try Self.month(of: key.hour)) }
            for root in slice.roots.values { months.insert(try Self.month(of: root.hour)) }
        }
        return months
    }

    /// - Throws: `LedgerError.invalidMonth` unless the hour lies in 1970-01 ... 9999-12.
    static func month(of hour: UTCHour) throws -> Month {
        try checkHour(hour)
        return hour.month
    }

    /// - Throws: `LedgerError.invalidEpoch` (or `.invalidMonth`) naming the broken rule.
    public func validate() throws {
        try validatePlan()
        // Int128: rows of several slices may together exceed Int64 (the ledger stores numeric); no
        // count of Int64 values that fits in memory can overflow it.
        var traceSum: Int128 = 0
        var hourSum: Int128 = 0
        for slice in slices {
            for delta in slice.transactions.values { traceSum += Int128(delta.costNanoUSD) }
            for (key, delta) in slice.traceHours {
                try Self.checkHour(key.hour)
                hourSum += Int128(delta.costNanoUSD)
            }
            for key in slice.models.keys { try Self.checkHour(key.hour) }
            for root in slice.roots.values { try Self.checkHour(root.hour) }
        }
        try Self.checkSums(traceSum, hourSum)
    }

    /// The rules that do not need the rows: writer identity and the offsets plan. The row rules (hours,
    /// sums) are checked by ``validate()``, or by the writer while it encodes the rows (one pass).
    func validatePlan() throws {
        guard !consumerGroup.isEmpty, !writerID.isEmpty else {
            throw LedgerError(.invalidEpoch, message: "consumer group and writer id must be set")
        }
        var seen = Set<PartitionKey>()
        for advance in plan.advances {
            guard advance.partition.partition >= 0, seen.insert(advance.partition).inserted else {
                throw LedgerError(.invalidEpoch, message: "partition \(advance.partition) is invalid or listed twice")
            }
            guard advance.to >= (advance.from ?? 0), (advance.from ?? 0) >= 0 else {
                throw LedgerError(
                    .invalidEpoch,
                    message: "offset of \(advance.partition) moves backwards: \(advance.from.map(String.init) ?? "none") → \(advance.to)")
            }
        }
    }

    /// - Throws: `LedgerError.invalidMonth` unless the hour lies in 1970-01 ... 9999-12.
    @inline(__always)
    static func checkHour(_ hour: UTCHour) throws {
        guard hour.isInLedgerRange else {
            throw LedgerError(.invalidMonth, message: "hour out of range: \(hour.hoursSinceEpoch)")
        }
    }

    /// - Throws: `LedgerError.invalidEpoch` unless Σ transactions cost = Σ trace-hours cost.
    static func checkSums(_ traceSum: Int128, _ hourSum: Int128) throws {
        guard traceSum == hourSum else {
            throw LedgerError(.invalidEpoch, message: "Σ trace cost \(traceSum) nusd ≠ Σ trace-hour cost \(hourSum) nusd")
        }
    }
}
