import Aggregation
import DevHarness
import Foundation
import Kafka
import Ledger
import LoadGen
import Logging
import Pipeline
import ServiceLifecycle
import Synchronization
import Testing
import TestSupport

// The zombie case made deterministic, in process: worker A's epoch writer is held (a store wrapper
// blocks A's first epoch that spans every partition, before the transaction) while worker B joins,
// the group moves some of A's partitions to B (A's revoke drain gives up after its shutdown bound
// with the epoch still in flight), and B commits those partitions. Then A's writer is released: its
// epoch, sealed for partitions another worker now owns, must be refused by the fencing check and
// counted at once (`fencedEpochs`), with one warning naming topic, partitions and writer; A re-reads
// its offsets and both finish; the ledger matches the manifest exactly (nothing double counted).

/// Holds the first epoch that has an advance for `partitions` partitions (and records) until released.
final class EpochWriteGate: Sendable {
    private struct State {
        var held = false
        var released = false
    }
    private let state = Mutex(State())
    let partitions: Int

    init(partitions: Int) { self.partitions = partitions }

    var isHolding: Bool { state.withLock { $0.held && !$0.released } }

    func release() { state.withLock { $0.released = true } }

    /// Called on the writer thread before each write; blocks the chosen one until `release()`.
    func pass(_ epoch: SealedEpoch) {
        let hold = state.withLock { s -> Bool in
            guard !s.held, epoch.plan.records > 0, Set(epoch.plan.advances.map(\.partition)).count >= partitions else { return false }
            s.held = true
            return true
        }
        guard hold else { return }
        while !state.withLock({ $0.released }) { Thread.sleep(forTimeInterval: 0.01) }
    }
}

/// An `EpochStore` that lets a gate hold writes, and otherwise forwards to the real store.
final class GatedEpochStore: EpochStore, @unchecked Sendable {
    // Safe (@unchecked): used by one thread, like the store it wraps.
    private let inner: any EpochStore & Sendable
    private let gate: EpochWriteGate

    init(_ inner: any EpochStore & Sendable, gate: EpochWriteGate) {
        self.inner = inner
        self.gate = gate
    }

    func write(_ epoch: SealedEpoch, group: String, writer: String) throws(EpochStoreError) {
        gate.pass(epoch)
        try inner.write(epoch, group: group, writer: writer)
    }

    func readOffsets(group: String, partitions: [PartitionKey]) throws(EpochStoreError) -> [PartitionKey: Int64] {
        try inner.readOffsets(group: group, partitions: partitions)
    }
}

/// A `PipelineService` in a `ServiceGroup`, with a store wrapper of the test's choosing.
final class GatedWorker: Sendable {
    let pipeline: PipelineService
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(configuration: Configuration, conninfo: String, gate: EpochWriteGate?, logger: Logger) {
        let (schema, grace) = (configuration.databaseSchema, configuration.attributionGrace)
        let pipeline = PipelineService(
            configuration: configuration,
            makeStore: { () throws(EpochStoreError) in
                let store = try LedgerEpochStore(conninfo: conninfo, schema: schema, attributionGrace: grace)
                guard let gate else { return store }
                return GatedEpochStore(store, gate: gate)
            },
            logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: pipeline)], logger: logger))
        self.pipeline = pipeline
        self.group = group
        self.task = Task { try await group.run() }
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

@Suite("zombie fencing (in process, deterministic)", .serialized)
struct ZombieFencingTests {
    @Test("a zombie's sealed epoch for partitions another worker now owns and has committed is refused by fencing, counted and logged; nothing is double counted")
    func zombieEpochIsFenced() async throws {
        let partitions = 4
        let scenario = try KafkaLedgerScenario("it_zombie", topicPrefix: "zb", partitions: partitions)
        let (conninfo, topic, quiet) = (scenario.conninfo, scenario.topic, scenario.logger)
        var config = scenario.workerConfiguration()
        // A revoke drains the epochs in flight for at most ~this long (less a reserve), then lets go.
        config.shutdownTimeout = .seconds(3)
        // One epoch takes what the first fetches bring from every partition (the whole load is there before
        // A starts, ~0.7 MB per partition, under the 1 MB per-partition fetch size), even on a loaded machine.
        config.flushInterval = .seconds(2)
        config.flushMinInterval = .seconds(2)  // no early epoch for an idle writer: the first one takes it all
        config.flushMaxSpans = 1_000_000

        // The whole load first: A's first epochs then span every partition.
        let (manifest, produced) = try scenario.load(
            LoadPlan(spans: 20_000, shape: .collector, poisonFraction: 0.01, seed: 37, topic: topic)
        ).run()

        let gate = EpochWriteGate(partitions: partitions)
        let logs = CapturedLogs()
        let aLogger = logs.logger("it.zombie.a", level: .warning)
        let a = GatedWorker(configuration: config, conninfo: conninfo, gate: gate, logger: aLogger)
        var b: GatedWorker?
        var stopped = false
        defer {
            gate.release()
            if !stopped {
                let (a, b) = (a, b)
                Task { try? await a.stop(); try? await b?.stop() }
            }
        }
        // One connection for the many polls.
        let (reader, c) = (LedgerReader(schema: try scenario.schemaName), try scenario.connect())
        func committed() throws -> Int64 { try reader.offsetsTotal(group: scenario.group, on: c) }

        try await waitUntil("A's writer holds an epoch spanning all \(partitions) partitions", timeout: .seconds(60)) { gate.isHolding }
        let committedWhileHeld = try committed()
        // B joins; the group moves some partitions to B; B re-reads their offsets from Postgres (where A's
        // held epoch never got) and commits them: any advance now comes from B.
        b = GatedWorker(configuration: config, conninfo: conninfo, gate: nil, logger: quiet)
        try await waitUntil("B commits partitions taken from A", timeout: .seconds(90)) {
            let total = try committed()
            return (b?.pipeline.progress.committedEpochs ?? 0) > 0 && total > committedWhileHeld
        }
        #expect(a.pipeline.progress.fencedEpochs == 0)
        // The zombie wakes up: its held epoch reaches the fencing check.
        gate.release()
        try await waitUntil("A's held epoch is fenced", timeout: .seconds(30)) { a.pipeline.progress.fencedEpochs >= 1 }
        let fenceLines = logs.lines.filter { $0.message.hasPrefix("epoch fenced") }
        #expect(fenceLines.count == a.pipeline.progress.fencedEpochs, "one warning per fenced epoch: \(fenceLines)")
        if let line = fenceLines.first {
            #expect(line.metadata["topic"] == topic)
            #expect(line.metadata["partitions"]?.split(separator: ",").count == partitions)
            #expect(line.metadata["writer"]?.isEmpty == false)
        }

        try await waitUntil("every record committed", timeout: .seconds(180)) { (try committed()) >= Int64(produced) }
        try await a.stop()
        try await b?.stop()
        stopped = true
        #expect(try committed() == Int64(produced))
        #expect(b?.pipeline.progress.fencedEpochs == 0, "B was never fenced")

        let (differences, invariants) = try scenario.compare(with: manifest)
        #expect(differences.isEmpty, "\(differences.count) differences, first: \(differences.prefix(10).map(\.description))")
        #expect(invariants.isEmpty, "\(invariants)")
    }
}
