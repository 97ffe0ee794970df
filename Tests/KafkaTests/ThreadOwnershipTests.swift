import Foundation
import Kafka
import Testing

@Suite("KafkaConsumer thread ownership")
struct ThreadOwnershipTests {
    @Test("a consumer used off the thread that polls it stops the process (programmer error)")
    func offThreadUseIsAPreconditionFailure() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: "127.0.0.1:1", groupID: "owner", topics: ["owner"]),
                logger: testLogger("consumer"))
            let polled = DispatchSemaphore(value: 0)
            let thread = Thread {
                _ = try? consumer.poll(maxMessages: 1, timeout: .milliseconds(1))
                polled.signal()
            }
            thread.start()
            polled.wait()
            try consumer.pause([TopicPartition(topic: "owner", partition: 0)])  // Not the owner thread.
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("one thread must own a consumer"))
    }
}
