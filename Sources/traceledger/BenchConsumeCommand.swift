import ArgumentParser
import DedicatedThread
import DurationUnits
import Foundation
import Kafka

/// The baseline of `scripts/bench.sh`: consume the same records as the worker, touching every value's
/// bytes but decoding nothing, on one dedicated thread, and report the rate.
struct BenchConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-consume",
        abstract: "Benchmark baseline: raw consume rate of a topic (no decoding), until N records are read.",
        shouldDisplay: false)

    @Option(help: "Kafka bootstrap servers.") var brokers: String
    @Option(help: "Topic.") var topic = "otlp_spans"
    @Option(help: "Records to read before stopping.") var records: Int
    @Option(help: "Spans those records hold (to report spans/s).") var spans: Int = 0
    @Option(help: "Give up after this many seconds.") var timeout: Int = 300

    func run() async throws {
        let consumer: KafkaConsumer
        do {
            consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: brokers, groupID: "bench-raw-\(UUID().uuidString.prefix(8))", topics: [topic],
                    properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]),
                logger: makeLogger("traceledger.bench"))
        } catch {
            throw CLIFailure.report(error)
        }
        let (records, timeout, spans) = (self.records, self.timeout, self.spans)
        let result = await withCheckedContinuation { (done: CheckedContinuation<(Int, Int, Duration?), Never>) in
            DedicatedThread.start(name: "tl.bench-consume") {
                var count = 0
                var checksum = 0
                var first: ContinuousClock.Instant?
                var last = ContinuousClock.now
                let deadline = ContinuousClock.now + .seconds(timeout)
                while count < records, ContinuousClock.now < deadline {
                    guard let r = try? consumer.poll(maxMessages: 5_000, timeout: .milliseconds(100)), let batch = r.messages
                    else { continue }
                    if first == nil { first = ContinuousClock.now }
                    for m in batch {
                        let v = m.value
                        checksum &+= v.count &+ Int(v.first ?? 0) &+ Int(v.last ?? 0)
                        count += 1
                    }
                    last = ContinuousClock.now
                }
                _ = try? consumer.close()
                done.resume(returning: (count, checksum, first.map { last - $0 }))
            }
        }
        let (count, _, elapsed) = result
        guard let elapsed, count >= records else {
            throw CLIFailure.report(CLIFailure("read \(count) of \(records) records before the timeout"))
        }
        let seconds = max(elapsed.inSeconds, 1e-9)
        print(String(format: "raw_consume records=%d seconds=%.3f records_per_s=%.0f spans_per_s=%.0f", count, seconds,
                     Double(count) / seconds, Double(spans) / seconds))
    }
}
