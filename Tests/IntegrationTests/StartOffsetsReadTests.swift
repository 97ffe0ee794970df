import Aggregation
import Foundation
import Pipeline
import Testing
import TestSupport

/// The stored-offsets read at a partition assignment survives a connection that died while idle: a
/// failed read there leaves the partitions paused and unsynced, and librdkafka 2.0.2's positioning of
/// such a partition raced the later seek (chaos seed 304 recorded two one-record "gaps" so).
@Suite("stored offsets read after the store's idle connection was killed", .enabled(if: hasDatabase, "needs DATABASE_URL"))
struct StartOffsetsReadTests {
    @Test("readOffsets answers from a new connection when the kept one was ended by pg_terminate_backend")
    func readAfterIdleConnectionKilled() async throws {
        let scratch = try await ScratchSchema.migrated(prefix: "offread")
        defer { Task { await scratch.drop() } }
        let app = "offread_\(UInt32.random(in: 0...UInt32.max))"
        let base = try databaseURL()
        let conninfo = base + (base.contains("?") ? "&" : "?") + "application_name=\(app)"
        let key = PartitionKey(topic: "otlp_spans", partition: 3)
        _ = try await scratch.query(
            "INSERT INTO \(scratch.table("ingest_offsets")) (consumer_group, topic, partition, next_offset, writer) VALUES ('g', 'otlp_spans', 3, 80, 'w')")
        let first = try await onThread { () throws -> [PartitionKey: Int64] in
            let store = try LedgerEpochStore(conninfo: conninfo, schema: scratch.schema.name, attributionGrace: .seconds(60))
            let before = try store.readOffsets(group: "g", partitions: [key])
            // Kill the store's connection while it is idle, as pg_terminate_backend or a restart would.
            let admin = try connectToTestDatabase()
            let killed = try admin.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                [.text(app)]).rows
            #expect(killed.first?.first == "1")
            Thread.sleep(forTimeInterval: 0.2)
            let after = try store.readOffsets(group: "g", partitions: [key])
            #expect(after == before)
            return before
        }
        #expect(first == [key: 80])
    }
}
