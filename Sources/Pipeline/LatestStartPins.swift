public import Aggregation

/// `kafka.start: latest`: where each partition with no stored offset starts reading, fixed the first time
/// it is known in this process (the END the consumer pinned at the first assignment) and reused on every
/// later resync or re-assignment until Postgres has a stored offset for the partition. Without it, a
/// partition that waited (database down at start-up, a fencing resync before the first commit, a
/// revoke and re-assign) would start at a newer END each time and skip the records produced meanwhile.
///
/// A pure value, no I/O; `StartOffsets` keeps one behind its lock.
public struct LatestStartPins: Sendable, Equatable {
    private var pins: [PartitionKey: Int64] = [:]

    public init() {}

    /// The start pinned for `key`, if any.
    public func pinned(_ key: PartitionKey) -> Int64? { pins[key] }

    /// Reading `key` (no stored offset) was positioned at `offset`: pins it, unless a start is already
    /// pinned (the first one stays). Negative (logical) offsets are not positions and are ignored.
    public mutating func positioned(_ key: PartitionKey, at offset: Int64) {
        guard offset >= 0, pins[key] == nil else { return }
        pins[key] = offset
    }

    /// Postgres has a stored offset for `key`: it decides from now on, the pin is dropped.
    public mutating func storedOffsetFound(_ key: PartitionKey) {
        pins[key] = nil
    }

    /// Where a partition with no stored offset starts reading (`logEnd`) and the backlog it skips,
    /// `[logStart, logEnd)`.
    public struct Start: Sendable, Equatable {
        public var logStart: Int64
        public var logEnd: Int64
        public init(logStart: Int64, logEnd: Int64) {
            self.logStart = logStart
            self.logEnd = logEnd
        }
    }

    /// Where a partition with no stored offset starts and the backlog it skips: `[logStart, logEnd)`.
    /// `startsAt` is where the consumer was already positioned (an assignment resolves END to a
    /// number), `watermarks` what a query returned (nil when it failed). Pins the result. Nil when
    /// nothing is known (no pin, no position, no watermarks).
    public mutating func start(
        for key: PartitionKey, startsAt: Int64?, watermarks: (low: Int64, high: Int64)?
    ) -> Start? {
        let consumerAt = startsAt.flatMap { $0 >= 0 ? $0 : nil }
        // Where the consumer already is wins (the gap must end exactly where reading starts); else the
        // first pinned start; else the current end.
        guard let end = consumerAt ?? pins[key] ?? watermarks?.high else { return nil }
        positioned(key, at: end)
        return Start(logStart: min(watermarks?.low ?? end, end), logEnd: end)
    }
}
