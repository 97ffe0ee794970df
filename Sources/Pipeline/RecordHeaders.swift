import Kafka

/// The headers a shard reads from a record (`traceparent`, `tracestate`, `baggage`, `content-type`),
/// found in one pass over the record's headers instead of one lookup per name.
///
/// Guarantees: the same answers as ``Kafka/KafkaMessage/header(_:)`` for each name (the LAST header of
/// that exact, case-sensitive name; an empty buffer for a null value; nil when absent). The buffers
/// borrow the message's bytes: valid while its batch lives. Does not allocate.
struct RecordHeaders {
    var traceparent: UnsafeRawBufferPointer?
    var tracestate: UnsafeRawBufferPointer?
    var baggage: UnsafeRawBufferPointer?
    var contentType: UnsafeRawBufferPointer?

    init(_ m: KafkaMessage) {
        m.forEachHeader { name, value in
            switch name.count {
            case 7 where Self.equals(name, "baggage"): baggage = value
            case 10 where Self.equals(name, "tracestate"): tracestate = value
            case 11 where Self.equals(name, "traceparent"): traceparent = value
            case 12 where Self.equals(name, "content-type"): contentType = value
            default: break
            }
        }
    }

    @inline(__always)
    private static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let l = literal.utf8Start
        for i in 0..<bytes.count where bytes[i] != l[i] { return false }
        return true
    }
}
