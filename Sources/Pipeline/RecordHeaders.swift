import Kafka
import SpanDecoding

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
        m.forEachHeader { bytes, value in
            let name = ByteView(bytes)
            switch bytes.count {
            case 7 where name.equals("baggage"): baggage = value
            case 10 where name.equals("tracestate"): tracestate = value
            case 11 where name.equals("traceparent"): traceparent = value
            case 12 where name.equals("content-type"): contentType = value
            default: break
            }
        }
    }
}
