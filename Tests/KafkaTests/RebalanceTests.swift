import Foundation
import Kafka
import Synchronization
import Testing
import TestSupport

/// One group member polling on its own dedicated thread, processing like the pipeline does: record
/// the batch, advance the "Postgres" offsets, then commit them to Kafka (sync) for lag.
final class GroupMember: Sendable {
    struct Log: Sendable {
        var events: [KafkaConsumerEvent] = []
        var values: [String] = []
        var assignment: Set<TopicPartition> = []
        var commitErrors: [KafkaError] = []
        var committedAtClose: [TopicPartition: Int64] = [:]
    }

    let name: String
    let stopRequested = Atomic<Bool>(false)
    let log = Mutex(Log())

    init(name: String) { self.name = name }

    func run(bootstrap: String, group: String, topic: String, partitions: [TopicPartition], store: OffsetStore) throws {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                bootstrapServers: bootstrap, groupID: group, topics: [topic], properties: fastGroupProperties),
            logger: testLogger(name),
            startOffsets: { store.startOffsets($0) })
        while !stopRequested.load(ordering: .relaxed) {
            let r = try consumer.poll(maxMessages: 7, timeout: .milliseconds(100))
            var next: [TopicPartition: Int64] = [:]
            var values: [String] = []
            for m in r.messages.map({ Array($0) }) ?? [] {
                values.append(m.withValue { String(decoding: $0, as: UTF8.self) })
                next[m.topicPartition] = m.offset + 1
            }
            store.advance(next)
            var commitError: KafkaError? = nil
            do {
                try consumer.commit(next.map { PartitionOffset($0.key, offset: $0.value) })
            } catch {
                commitError = error  // Lag only: a commit during a rebalance may be refused.
            }
            let assignment = consumer.assignment
            log.withLock {
                $0.events += r.events
                $0.values += values
                $0.assignment = assignment
                if let commitError { $0.commitErrors.append(commitError) }
            }
        }
        let committed = try consumer.committed(partitions, timeout: .seconds(10))
        let closing = try consumer.close()
        log.withLock {
            $0.events += closing
            $0.assignment = []
            $0.committedAtClose = committed
        }
    }

    var snapshot: Log { log.withLock { $0 } }
}

@Suite("Rebalance between two consumers of one group")
struct RebalanceTests {
    @Test("a second member joining then leaving moves partitions with assign/revoke events, and every record is delivered to exactly one member")
    func joinAndLeaveDeliverEachRecordOnce() async throws {
        let cluster = try MockKafkaCluster(brokers: 2, logger: testLogger("mock"))
        let topic = "rebalance"
        try cluster.createTopic(topic, partitions: 4)
        let bootstrap = cluster.bootstrapServers
        let partitions = (0..<4).map { TopicPartition(topic: topic, partition: Int32($0)) }
        let producer = try cluster.producer(logger: testLogger("producer"))
        let store = OffsetStore()
        let a = GroupMember(name: "member-a")
        let b = GroupMember(name: "member-b")
        var sent: [String] = []
        func producePhase(_ phase: String) throws {
            for tp in partitions {
                let values = (0..<10).map { "\(phase)-\(tp.partition)-\($0)" }
                for v in values { try producer.produce(topic: topic, partition: tp.partition, key: nil, value: Array(v.utf8)) }
                sent += values
            }
            try producer.flush(timeout: .seconds(20))
        }
        func delivered() -> Int { a.snapshot.values.count + b.snapshot.values.count }

        async let aDone: Void = onThread(named: "member-a") {
            try a.run(bootstrap: bootstrap, group: "rebalance", topic: topic, partitions: partitions, store: store)
        }
        var bDone: Task<Void, any Error>? = nil
        defer {
            // Whatever happens, let both threads finish (close leaves the group).
            a.stopRequested.store(true, ordering: .relaxed)
            b.stopRequested.store(true, ordering: .relaxed)
        }

        // Phase 1: A alone.
        #expect(await eventually(timeout: .seconds(60)) { a.snapshot.assignment.count == 4 }, "A gets all 4 partitions")
        try producePhase("one")
        #expect(await eventually(timeout: .seconds(60)) { delivered() == 40 })

        // Phase 2: B joins; cooperative-sticky moves some partitions from A to B.
        bDone = Task.detached {
            try await onThread(named: "member-b") {
                try b.run(bootstrap: bootstrap, group: "rebalance", topic: topic, partitions: partitions, store: store)
            }
        }
        #expect(
            await eventually(timeout: .seconds(60)) {
                let (sa, sb) = (a.snapshot.assignment, b.snapshot.assignment)
                return !sb.isEmpty && !sa.isEmpty && sa.union(sb).count == 4 && sa.isDisjoint(with: sb)
            }, "B joins and takes some of A's partitions")
        try producePhase("two")
        #expect(await eventually(timeout: .seconds(60)) { delivered() == 80 })

        // Phase 3: B leaves; A gets everything back, starting where B stopped.
        b.stopRequested.store(true, ordering: .relaxed)
        try await bDone?.value
        #expect(await eventually(timeout: .seconds(60)) { a.snapshot.assignment.count == 4 }, "A gets B's partitions back")
        try producePhase("three")
        #expect(await eventually(timeout: .seconds(60)) { delivered() == 120 })
        a.stopRequested.store(true, ordering: .relaxed)
        try await aDone

        let (la, lb) = (a.snapshot, b.snapshot)
        let all = la.values + lb.values
        #expect(all.count == sent.count, "no duplicate delivery")
        #expect(Set(all) == Set(sent), "no lost record")
        #expect(!lb.values.isEmpty, "B processed records while it was a member")
        #expect(lb.values.allSatisfy { $0.hasPrefix("two-") })

        // A: assigned 4, revoked some (not lost), assigned them back; B: assigned some, revoked at close.
        let aAssigned = la.events.compactMap { if case .assigned(let p) = $0 { p } else { nil } }.filter { !$0.isEmpty }
        let aRevoked = la.events.compactMap { if case .revoked(let p, let lost) = $0 { (p, lost) } else { nil } }
        let bAssigned = lb.events.compactMap { if case .assigned(let p) = $0 { p } else { nil } }.filter { !$0.isEmpty }
        let bRevoked = lb.events.compactMap { if case .revoked(let p, let lost) = $0 { (p, lost) } else { nil } }
        #expect(aAssigned.count >= 2)
        #expect(aAssigned.first?.count == 4)
        #expect(!aRevoked.isEmpty && aRevoked.allSatisfy { !$0.1 })
        #expect(!bAssigned.isEmpty && !bRevoked.isEmpty)
        #expect(Set(bAssigned.flatMap { $0 }.map(\.topicPartition)) == Set(bRevoked.flatMap { $0.0 }))
        // B started each partition where A's processing had stopped (the store), never at the beginning.
        #expect(bAssigned.flatMap { $0 }.allSatisfy { $0.offset == 10 })
        // Commits as told: the group's committed offsets end at the high watermark.
        #expect(la.committedAtClose == Dictionary(uniqueKeysWithValues: partitions.map { ($0, 30) }))
        #expect(la.events.allSatisfy { if case .error = $0 { false } else { true } })
    }
}
