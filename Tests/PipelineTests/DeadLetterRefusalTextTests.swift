import Kafka
@testable import Pipeline
import Testing

@Suite("dead-letter refusal text")
struct DeadLetterRefusalTextTests {
    let error = KafkaError(code: .messageSizeTooLarge, message: "produce: Broker: Message size too large", topic: "t.dlq")

    @Test("the refusal names the error and quotes the first 256 value bytes, escaped")
    func refusalText() throws {
        let value: [UInt8] = Array("ok \\ \"q\"".utf8) + [0x00, 0xFF, 0x0A] + [UInt8](repeating: 0x41, count: 400)
        let text = DeadLetterSink.refusal(error, valuePrefix: value, valueLength: 20_000_000)
        #expect(text.hasPrefix("dead letter refused permanently by Kafka (MSG_SIZE_TOO_LARGE(10)): produce: Broker: Message size too large; value 20000000 bytes, first: \"ok \\\\ \"q\"\\x00\\xff\\x0a"))
        #expect(text.hasSuffix("A\"…"))
        let quoted = text[try #require(text.firstRange(of: "first: ")).upperBound...]
        let quotedAs = quoted.utf8.filter { $0 == UInt8(ascii: "A") }.count
        #expect(quotedAs == 256 - 11, "256 bytes quoted in all")
        #expect(!DeadLetterSink.refusal(error, valuePrefix: [1], valueLength: 1).hasSuffix("…"))
    }

    @Test("detail + refusal stays within 2048 UTF-8 bytes, never split inside a character; a short detail is kept whole")
    func bounded() {
        let refusal = DeadLetterSink.refusal(error, valuePrefix: [UInt8](repeating: 0xFF, count: 256), valueLength: 300)
        let short = DeadLetterSink.withRefusal("bad_wire_type at byte 4", refusal)
        #expect(short == "bad_wire_type at byte 4; " + refusal)
        for detail in [String(repeating: "é", count: 3000), String(repeating: "x", count: 5000), ""] {
            let d = DeadLetterSink.withRefusal(detail, refusal)
            #expect(d.utf8.count <= DeadLetterSink.detailMaxBytes)
            #expect(d.hasSuffix(refusal))
            #expect(!d.contains("\u{FFFD}"))
        }
        let huge = DeadLetterSink.withRefusal("d", String(repeating: "r", count: 4000))
        #expect(huge.utf8.count == DeadLetterSink.detailMaxBytes)
    }
}
