internal import CRdKafka
import DedicatedThread
import Foundation
import Synchronization

/// The log start (low) and high watermark (next offset to be written) of one partition.
public struct Watermarks: Sendable, Hashable {
    public var low: Int64
    public var high: Int64

    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}

/// Runs blocking watermark queries for many partitions at once.
///
/// Why: `rd_kafka_query_watermark_offsets` asks one partition at a time, and a broker answers requests
/// on a connection in order, so each query waits behind the fetch already outstanding there (up to
/// `fetch.wait.max.ms`, 500 ms by default, when the partitions are idle). Asked one after another, six
/// newly assigned partitions took ~2 s (the mock cluster's debug log in a chaos run: one answer every
/// ~0.35 s); asked together, their requests share that wait.
///
/// Guarantees: every query runs on its own short-lived thread (never on Swift's cooperative pool), at
/// most ``threadsMax`` at once; the call returns when all have answered or timed out (each bounded by
/// the timeout given), with one result per distinct partition.
enum WatermarkQueries {
    /// Threads at most per call (a query mostly waits on the network, not the CPU).
    static let threadsMax = 16

    /// `query` for each partition, up to ``threadsMax`` at a time, results by partition.
    static func run(
        _ partitions: [TopicPartition],
        _ query: @escaping @Sendable (TopicPartition) -> Result<Watermarks, KafkaError>
    ) -> [TopicPartition: Result<Watermarks, KafkaError>] {
        let unique = Array(Set(partitions)).sorted()
        if unique.count <= 1 {
            return Dictionary(uniqueKeysWithValues: unique.map { ($0, query($0)) })
        }
        let shared = Shared(unique)
        let width = min(unique.count, threadsMax)
        let finished = DispatchSemaphore(value: 0)
        for _ in 0..<width {
            DedicatedThread.start(name: "tl.watermarks") {
                while let tp = shared.next() { shared.store(tp, query(tp)) }
                finished.signal()
            }
        }
        for _ in 0..<width { finished.wait() }
        return shared.take()
    }

    /// The work list and the results, shared by the query threads.
    private final class Shared: Sendable {
        let partitions: [TopicPartition]
        let cursor = Atomic<Int>(0)
        let results = Mutex<[TopicPartition: Result<Watermarks, KafkaError>]>([:])

        init(_ partitions: [TopicPartition]) { self.partitions = partitions }

        func next() -> TopicPartition? {
            let i = cursor.add(1, ordering: .relaxed).oldValue
            return i < partitions.count ? partitions[i] : nil
        }

        func store(_ tp: TopicPartition, _ result: Result<Watermarks, KafkaError>) {
            results.withLock { $0[tp] = result }
        }

        func take() -> [TopicPartition: Result<Watermarks, KafkaError>] { results.withLock { $0 } }
    }
}

/// A librdkafka handle lent to the query threads of one ``WatermarkQueries/run(_:_:)`` call, which
/// returns before its owner can destroy it. Safe (@unchecked): `rd_kafka_query_watermark_offsets` is
/// thread-safe.
struct WatermarkQueryHandle: @unchecked Sendable {
    let rk: OpaquePointer

    func query(_ tp: TopicPartition, timeoutMilliseconds: Int32) -> Result<Watermarks, KafkaError> {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_query_watermark_offsets(rk, tp.topic, tp.partition, &low, &high, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return .failure(KafkaError(err, context: "query_watermark_offsets", topic: tp.topic, partition: tp.partition))
        }
        return .success(Watermarks(low: low, high: high))
    }
}
