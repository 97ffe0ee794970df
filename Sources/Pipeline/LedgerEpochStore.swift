import Aggregation
import TraceContext
import Foundation
import Ledger

/// The Postgres `EpochStore`: converts a sealed epoch into Ledger's plain values and writes it with
/// `LedgerEpochWriter` on a connection this store alone owns (one store per thread; it reconnects after
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
        let ledgerEpoch: LedgerEpoch
        do {
            ledgerEpoch = try Self.convert(epoch, group: group, writer: writerID)
        } catch {
            throw EpochStoreError(.unwritable, "epoch \(epoch.plan.epochID): \(error)", sqlState: nil)
        }
        let c = try connected()
        do {
            _ = try writer.write(ledgerEpoch, on: c)
        } catch {
            c.rollbackIfNeeded()
            throw map(error)
        }
    }

    public func readOffsets(group: String, partitions: [PartitionKey]) throws(EpochStoreError) -> [PartitionKey: Int64] {
        let c = try connected()
        do {
            let stored = try writer.readOffsets(
                group: group, partitions: partitions.map { Ledger.TopicPartition(topic: $0.topic, partition: $0.partition) },
                on: c)
            var out: [PartitionKey: Int64] = [:]
            for (k, v) in stored { out[PartitionKey(topic: k.topic, partition: k.partition)] = v }
            return out
        } catch {
            throw map(error)
        }
    }

    /// Sealed epoch (shard deltas + offsets plan) → Ledger's input. Shard deltas are concatenated; the
    /// writer's `GROUP BY` merges keys that several shards share.
    static func convert(_ epoch: SealedEpoch, group: String, writer: String) throws -> LedgerEpoch {
        var out = LedgerEpoch(
            consumerGroup: group, writerID: writer, maxRecordTimeUnixMillis: epoch.plan.maxRecordTimeUnixMillis)
        var months: [UTCMonth: Month] = [:]
        func month(_ m: UTCMonth) throws -> Month {
            if let cached = months[m] { return cached }
            let v = try Month(year: Int(m.year), month: Int(m.month))
            months[m] = v
            return v
        }
        func tid(_ t: TraceID) -> LedgerTraceID { LedgerTraceID(high: t.high, low: t.low) }
        for outer in epoch.deltas {
            for d in outer.slices {
                for (k, v) in d.transactions {
                    out.traces.append(
                        TraceDelta(
                            month: try month(k.month), traceID: tid(k.traceID), transaction: v.transaction, service: v.service,
                            environment: v.environment, sessionID: v.sessionID, costNanoUSD: v.costNanoUSD,
                            computeNanoUSD: v.computeNanoUSD, serverlessNanoUSD: v.serverlessNanoUSD, llmNanoUSD: v.llmNanoUSD,
                            spanCount: v.spanCount, errorCount: v.errorCount, unpricedCount: v.unpricedCount,
                            inputTokens: v.inputTokens, outputTokens: v.outputTokens,
                            firstStartUnixNanos: Int64(clamping: v.firstStartUnixNanos),
                            lastEndUnixNanos: Int64(clamping: v.lastEndUnixNanos), sampledSpansMicro: v.sampledSpansMicro))
                }
                for (k, v) in d.traceHours {
                    out.traceHours.append(
                        Ledger.TraceHourDelta(
                            hour: LedgerHour(hoursSinceUnixEpoch: k.hour.hoursSinceEpoch), traceID: tid(k.traceID),
                            costNanoUSD: v.costNanoUSD, spanCount: v.spanCount))
                }
                for (_, r) in d.roots {
                    out.roots.append(RootStarted(hour: LedgerHour(hoursSinceUnixEpoch: r.hour.hoursSinceEpoch), transaction: r.transaction))
                }
                for (k, v) in d.sessions {
                    out.sessions.append(
                        Ledger.SessionDelta(
                            month: try month(k.month), sessionID: k.sessionID, costNanoUSD: v.costNanoUSD,
                            inputTokens: v.inputTokens, outputTokens: v.outputTokens, spanCount: v.spanCount,
                            depthMax: v.depthMax, agentCount: v.agentCount, ceilingHits: v.ceilingHits,
                            parentSession: v.parentSession, firstStartUnixNanos: Int64(clamping: v.firstStartUnixNanos),
                            lastEndUnixNanos: Int64(clamping: v.lastEndUnixNanos)))
                }
                for (k, v) in d.models {
                    out.models.append(
                        Ledger.ModelDelta(
                            hour: LedgerHour(hoursSinceUnixEpoch: k.hour.hoursSinceEpoch), model: k.model, service: k.service,
                            costNanoUSD: v.costNanoUSD, inputTokens: v.inputTokens, outputTokens: v.outputTokens, calls: v.calls))
                }
            }
            for r in outer.rejected {
                out.rejected.append(
                    Ledger.RejectedRecord(
                        topic: r.topic, partition: r.partition, offset: r.offset, reason: r.reason.rawValue, detail: r.detail,
                        sizeBytes: r.sizeBytes, recordTimeUnixMillis: r.recordTimeUnixMillis))
            }
        }
        for a in epoch.plan.advances {
            out.offsets.append(
                OffsetAdvance(
                    partition: Ledger.TopicPartition(topic: a.partition.topic, partition: a.partition.partition),
                    fromOffset: a.from, nextOffset: a.to))
            for g in a.gaps {
                out.retentionGaps.append(
                    RetentionGap(topic: a.partition.topic, partition: a.partition.partition, fromOffset: g.from, toOffset: g.to))
            }
        }
        return out
    }
}

