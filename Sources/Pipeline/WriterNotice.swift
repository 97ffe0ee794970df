import DurationUnits
public import Aggregation
import Kafka
import Foundation
import Synchronization

/// What the writer tells the ingest thread (drained once per poll loop).
enum WriterNotice: Sendable {
    /// Committed in Postgres; the advances may be committed to Kafka for lag reporting.
    case committed(epochID: UInt64, advances: [PartitionAdvance], spans: Int64, writeDuration: Duration)
    /// Dropped unwritten: its generation is void.
    case dropped(epochID: UInt64)
    /// The fencing check failed: another writer moved a partition; everything in flight is void.
    case fenced(epochID: UInt64, detail: String)
    /// The database refused the epoch's data (`sqlState` class 22/23/54, or nil for our own validation):
    /// everything in flight is void; the ingest thread isolates the offending record(s).
    case unwritable(epochID: UInt64, records: Int, advances: [PartitionAdvance], sqlState: String?, detail: String)
    /// Not an answer: the epoch's first write attempt failed for a transient reason (the database is
    /// unavailable or refused the connection) and the writer retries it. Posted once per epoch; the
    /// epoch's answer follows. Until then the ingest thread takes no records once the writer has no room.
    case failing(epochID: UInt64)

    /// Whether this notice answers its epoch (every epoch taken gets exactly one answer).
    var isAnswer: Bool {
        if case .failing = self { return false }
        return true
    }
}
