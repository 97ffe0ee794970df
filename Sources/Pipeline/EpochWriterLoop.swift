import DurationUnits
import Foundation
import Kafka
import Logging
import Synchronization

/// The epoch writer: ONE dedicated thread that takes sealed epochs in order and writes each in one
/// Postgres transaction (through an `EpochStore` it alone uses).
///
/// Guarantees: dead letters are flushed (delivery confirmed) before an epoch's transaction, and a
/// dead letter whose delivery failed is produced again (and flushed) before any epoch commits; a
/// transient failure is retried with capped exponential backoff and jitter, forever (nothing is
/// dropped; ingest pauses meanwhile because the epoch stays in flight, and stops taking records as soon
/// as the writer has no room, told by one `.failing` notice per retried epoch); a fencing failure voids
/// this and every later epoch of the same generation; every epoch taken is answered with exactly one
/// answer notice (``WriterNotice/isAnswer``).
final class EpochWriterLoop: @unchecked Sendable {
    // Safe: `store` is used only on the writer thread (inside `run`).
    private let store: any EpochStore
    private let queue: WriterQueue
    private let notices: NoticeBox
    private let deadLetters: DeadLetterSink
    private let group: String
    private let writerID: String
    private let logger: Logger
    private let status: PipelineStatus
    /// Epochs of a generation below this are dropped unwritten.
    let voidBelow = Atomic<UInt64>(0)
    /// Set at shutdown: stop retrying after the deadline.
    let giveUp = Atomic<Bool>(false)
    private let backoffMax: Duration
    /// Dead letters whose delivery failed, to produce again before the next commit. Writer thread only.
    private var redeliveries: [OwnedRecord] = []
    /// The producer's failure count when failed records were last taken: more means a flush is due.
    private var deliveryFailuresSeen = 0
    /// Dead letters refused permanently, by `traceledger-source`: the refusal text for their rejected
    /// row, and the epoch it was applied to (kept while that epoch is retried). Writer thread only.
    private var refusals: [String: (text: String, epochID: UInt64?)] = [:]
    static let refusalsMax = 10_000

    init(
        store: any EpochStore, queue: WriterQueue, notices: NoticeBox, deadLetters: DeadLetterSink, group: String,
        writerID: String, logger: Logger, status: PipelineStatus, backoffMax: Duration = EpochWriterLoop.defaultBackoffMax
    ) {
        self.store = store
        self.queue = queue
        self.notices = notices
        self.deadLetters = deadLetters
        self.group = group
        self.writerID = writerID
        self.logger = logger
        self.status = status
        self.backoffMax = backoffMax
    }

    func run() {
        while let epoch = queue.pop() {
            write(epoch)
        }
    }

    private func write(_ epoch: SealedEpoch) {
        let id = epoch.plan.epochID
        var attempt = 0
        var retriesProduced = 0
        while true {
            if epoch.plan.generation < voidBelow.load(ordering: .acquiring) || giveUp.load(ordering: .relaxed) {
                notices.post(.dropped(epochID: id))
                return
            }
            do {
                // The local copy carries the permanent refusals of its dead letters in their rejected rows.
                let epoch = try deliverDeadLetters(of: epoch, retriesProduced: &retriesProduced)
                let start = ContinuousClock.now
                try store.write(epoch, group: group, writer: writerID)
                let spans = epoch.deltas.reduce(Int64(0)) { $0 + $1.counters.spansCounted }
                if attempt > 0 { logger.notice("epoch written after retries", metadata: ["epoch": "\(id)", "attempts": "\(attempt + 1)"]) }
                status.setDatabaseError(nil)
                let writeDuration = ContinuousClock.now - start
                logger.debug(
                    "epoch committed",
                    metadata: ["epoch": "\(id)", "spans": "\(spans)", "write_ms": "\(Int(writeDuration.inMilliseconds))"])
                // Ledger metrics count committed work only, from the epoch that committed.
                deadLetters.gauges.metrics.epochCommitted(epoch, writeDuration: writeDuration)
                notices.post(.committed(epochID: id, advances: epoch.plan.advances, spans: spans, writeDuration: writeDuration))
                return
            } catch let error as EpochStoreError {
                switch error.kind {
                case .fenced:
                    voidBelow.store(epoch.plan.generation + 1, ordering: .releasing)
                    logger.warning(
                        "epoch fenced: another writer moved a partition; dropping state",
                        metadata: [
                            "epoch": "\(id)", "writer": "\(writerID)", "group": "\(group)",
                            "topic": "\(Set(epoch.plan.advances.map(\.partition.topic)).sorted().joined(separator: ","))",
                            "partitions": "\(epoch.plan.advances.map { "\($0.partition.partition)" }.joined(separator: ","))",
                            "detail": "\(error.detail)",
                        ])
                    // Counted at the moment of the fence, not when the ingest thread reads the notice (a
                    // fence seen during shutdown must still show in `fencedEpochs`), and after the warning,
                    // so that whoever sees the count finds the line.
                    deadLetters.gauges.fencedEpochs.add(1, ordering: .relaxed)
                    notices.post(.fenced(epochID: id, detail: error.detail))
                    deadLetters.gauges.metrics.epochFenced()
                    return
                case .unwritable where epoch.plan.records > 0:
                    // The same epoch can never commit: void it (and this generation) like a fencing
                    // failure; the ingest thread re-reads the records in smaller epochs until it finds the
                    // one(s) the database refuses, rejects those, and commits the rest.
                    voidBelow.store(epoch.plan.generation + 1, ordering: .releasing)
                    deadLetters.gauges.metrics.epochUnwritable()
                    logger.error(
                        "epoch unwritable: the database refused its data; isolating the record(s)",
                        metadata: ["epoch": "\(id)", "records": "\(epoch.plan.records)", "sqlstate": "\(error.sqlState ?? "none")",
                                   "error": "\(error.detail)"])
                    notices.post(
                        .unwritable(
                            epochID: id, records: epoch.plan.records, advances: epoch.plan.advances,
                            sqlState: error.sqlState, detail: error.detail))
                    return
                case .unavailable, .rejected, .unwritable:
                    status.setDatabaseError(error.detail)
                    if attempt == 0 { notices.post(.failing(epochID: id)) }
                    let delay = backoff(attempt)
                    logger.error(
                        "epoch write failed; retrying",
                        metadata: ["epoch": "\(id)", "attempt": "\(attempt + 1)", "retry_in": "\(delay)", "error": "\(error.detail)"])
                    attempt += 1
                    sleepUnlessGivenUp(delay)
                }
            } catch {
                preconditionFailure("EpochStore threw a non-EpochStoreError: \(error)")
            }
        }
    }

    /// Produces the dead letters kept for a retry, then flushes until every dead letter is delivered or
    /// permanently refused. A transient failure throws (`.unavailable`: the caller backs off and calls
    /// again); a permanent refusal is not retried: it is noted in `refusals` and written into its
    /// rejected row. Returns `epoch` with the refusals of its own rows applied to their detail.
    /// - Throws: ``EpochStoreError`` only (untyped, so that `write`'s catch clauses stay as they were).
    private func deliverDeadLetters(of epoch: SealedEpoch, retriesProduced: inout Int) throws -> SealedEpoch {
        let producer = deadLetters.producer
        let id = epoch.plan.epochID
        // Refusals applied to an earlier epoch are settled (written, or dropped with it).
        refusals = refusals.filter { $0.value.epochID == nil || $0.value.epochID == id }
        // Produces a kept copy; a permanent refusal is noted (not retried), anything else retries the epoch.
        func produceKept(_ copy: OwnedRecord) throws {
            do {
                try producer.produce(copy)
            } catch let error where error.isPermanent {
                noteRefusal(
                    source: copy.headers.last(where: { $0.name == "traceledger-source" })?.value, error: error,
                    valuePrefix: Array((copy.value ?? []).prefix(DeadLetterSink.quotedBytes)), valueLength: copy.value?.count ?? 0)
            } catch {
                throw EpochStoreError(.unavailable, "dead-letter produce: \(error)")
            }
        }
        while retriesProduced < epoch.deadLetterRetries.count {
            try produceKept(epoch.deadLetterRetries[retriesProduced])
            retriesProduced += 1
        }
        while let copy = redeliveries.first {
            try produceKept(copy)
            redeliveries.removeFirst()
        }
        var flushes = 0
        while epoch.deltas.contains(where: { !$0.rejected.isEmpty }) || producer.pendingCount > 0
            || producer.failedCount > deliveryFailuresSeen
        {
            do {
                try producer.flush(timeout: .seconds(30))
                break
            } catch {
                // Every failure this flush saw is listed: produce the transient ones again, then retry.
                // The count is read first: a failure listed after it makes the next flush due.
                let failuresNow = producer.failedCount
                let failed = producer.takeFailedRecords()
                deliveryFailuresSeen = failuresNow
                var again = 0
                for f in failed {
                    if let record = f.record, !f.error.isPermanent {
                        redeliveries.append(record)
                        again += 1
                    } else {
                        noteRefusal(
                            source: f.header("traceledger-source"), error: f.error, valuePrefix: f.valuePrefix,
                            valueLength: f.valueLength)
                    }
                }
                flushes += 1
                // Only permanent refusals: they are settled, flush again at once (a few times at most,
                // then back off like any failure).
                if again > 0 || failed.isEmpty || error.code == .timedOut || flushes >= 8 {
                    throw EpochStoreError(
                        .unavailable,
                        "dead-letter flush: \(error); \(again) records will be produced again, \(failed.count - again) refused permanently")
                }
            }
        }
        guard !refusals.isEmpty else { return epoch }
        var patched = epoch
        for d in patched.deltas.indices {
            for r in patched.deltas[d].rejected.indices {
                let row = patched.deltas[d].rejected[r]
                let source = "\(row.topic)/\(row.partition)/\(row.offset)"
                guard let refusal = refusals[source] else { continue }
                patched.deltas[d].rejected[r].detail = DeadLetterSink.withRefusal(row.detail, refusal.text)
                refusals[source]?.epochID = id
            }
        }
        return patched
    }

    /// Counts, logs and keeps (for the epoch holding its rejected row) a permanent refusal.
    private func noteRefusal(source: [UInt8]?, error: KafkaError, valuePrefix: [UInt8], valueLength: Int) {
        let source = source.map { String(decoding: $0, as: UTF8.self) } ?? "?"
        deadLetters.noteRefused(source: source, error: error)
        // Unmatched refusals (their epoch was discarded before it sealed) are bounded.
        if refusals.count >= Self.refusalsMax {
            refusals = refusals.filter { $0.value.epochID != nil }
        }
        refusals[source] = (DeadLetterSink.refusal(error, valuePrefix: valuePrefix, valueLength: valueLength), nil)
    }

    /// Sleeps `delay` in slices of at most 50 ms, returning early once shutdown gives up, so that a
    /// backoff never outlives `shutdown.timeout`.
    private func sleepUnlessGivenUp(_ delay: Duration) {
        let end = ContinuousClock.now + delay
        while !giveUp.load(ordering: .relaxed) {
            let left = end - ContinuousClock.now
            if left <= .zero { return }
            let slice = min(left, .milliseconds(50))
            Thread.sleep(forTimeInterval: slice.inSeconds)
        }
    }

    /// The longest wait between two attempts at an epoch: also the longest the writer can take to notice
    /// that the database is back (chaos runs found 4-5 s with a 5 s cap; the target is <= 3 s). A retry
    /// against a database that is down costs one refused connection.
    static let defaultBackoffMax = Duration.seconds(1)

    private func backoff(_ attempt: Int) -> Duration { Self.backoff(attempt: attempt, max: backoffMax) }

    /// Capped exponential backoff with jitter: 100 ms × 2^attempt, at most `max`; uniform in [half, all].
    static func backoff(attempt: Int, max: Duration) -> Duration {
        // Milliseconds of the whole cap (a sub-second cap counted as 0 before: retries in a tight loop).
        let capMillis = max.wholeMilliseconds
        let expMillis = Swift.min(capMillis, 100 << Int64(Swift.min(attempt, 16)))
        return .milliseconds(Int64.random(in: expMillis / 2...Swift.max(expMillis, 1)))
    }
}
