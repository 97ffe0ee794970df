import Foundation
@testable import Kafka
import Synchronization
import Testing

@Suite("watermark queries for many partitions")
struct WatermarkQueriesTests {
    /// Counts arrivals; `arriveAndWait` returns true once `parties` callers have arrived, false if that
    /// did not happen within the timeout.
    final class Barrier: Sendable {
        let parties: Int
        let arrived = Mutex(0)
        init(parties: Int) { self.parties = parties }

        func arriveAndWait(timeout: Duration) -> Bool {
            arrived.withLock { $0 += 1 }
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if arrived.withLock({ $0 }) >= parties { return true }
                Thread.sleep(forTimeInterval: 0.005)
            }
            return false
        }
    }

    @Test("the queries run side by side: each one waits until all of them have started, and all succeed")
    func sideBySide() {
        let partitions = (0..<8).map { TopicPartition(topic: "t", partition: Int32($0)) }
        let barrier = Barrier(parties: partitions.count)
        let results = WatermarkQueries.run(partitions) { tp in
            // One after another, the first query would wait for seven that never start: it times out.
            barrier.arriveAndWait(timeout: .seconds(5))
                ? .success(Watermarks(low: 0, high: Int64(tp.partition)))
                : .failure(KafkaError(code: .timedOut, message: "not side by side"))
        }
        #expect(results.count == partitions.count)
        for tp in partitions {
            #expect((try? results[tp]?.get()) == Watermarks(low: 0, high: Int64(tp.partition)))
        }
    }

    @Test("more partitions than threads, with repeats: each distinct partition is asked exactly once")
    func eachOnce() {
        let partitions = (0..<(WatermarkQueries.threadsMax * 3)).map { TopicPartition(topic: "t", partition: Int32($0 % 40)) }
        let asked = Mutex<[TopicPartition: Int]>([:])
        let results = WatermarkQueries.run(partitions) { tp in
            asked.withLock { $0[tp, default: 0] += 1 }
            return .success(Watermarks(low: 1, high: 2))
        }
        #expect(results.count == 40)
        #expect(asked.withLock { $0 }.values.allSatisfy { $0 == 1 })
        #expect(asked.withLock { $0 }.count == 40)
    }

    @Test("a failed query is reported for its partition only")
    func failureIsPerPartition() {
        let partitions = [TopicPartition(topic: "t", partition: 0), TopicPartition(topic: "t", partition: 1)]
        let results = WatermarkQueries.run(partitions) { tp in
            tp.partition == 0 ? .failure(KafkaError(code: .timedOut, message: "down")) : .success(Watermarks(low: 0, high: 5))
        }
        #expect(throws: KafkaError.self) { try results[partitions[0]]?.get() }
        #expect((try? results[partitions[1]]?.get()) == Watermarks(low: 0, high: 5))
    }
}
