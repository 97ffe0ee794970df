public import Pricing
import SpanDecoding
import TraceContext

/// The limits a record is checked against (docs/pricing.md rule 5, docs/ledger.md).
public struct RecordLimits: Sendable, Equatable {
    /// A span starting before record time − `maxAgeNanos` is out of range.
    public var maxAgeNanos: Int64
    /// A span starting after record time + `maxFutureSkewNanos` is out of range.
    public var maxFutureSkewNanos: Int64
    /// A record value larger than this is `too_large`.
    public var maxBytes: Int
    /// A record whose Kafka timestamp is later than this (ms since the epoch) is `timestamp_out_of_range`:
    /// the shard sets it before each batch to its wall clock + `maxFutureSkew`, so that no producer's
    /// clock can claim a far future (which would sweep pending attribution and create partitions for
    /// year 2100). `Int64.max` (the default) disables the check.
    public var recordTimeCeilingUnixMillis: Int64 = .max
    /// W3C baggage keys whose value is a session id (`baggage.keys`), in priority order: the first one
    /// present in a record's `baggage` header gives its spans without a `session.id` attribute their
    /// session. `session.id` is always honoured, after the listed keys when it is not among them.
    public var baggageSessionKeys: [String] = ["session.id"] {
        didSet { baggageSessionKeyBytes = Self.keyBytes(baggageSessionKeys) }
    }
    /// The keys as bytes, `session.id` appended when missing (computed once, not per record).
    public private(set) var baggageSessionKeyBytes: [[UInt8]] = RecordLimits.keyBytes(["session.id"])

    static func keyBytes(_ keys: [String]) -> [[UInt8]] {
        var out = keys.filter { !$0.isEmpty }.map { Array($0.utf8) }
        if !keys.contains("session.id") { out.append(Array("session.id".utf8)) }
        return out
    }

    public init(maxAgeNanos: Int64 = 35 * 86_400 * 1_000_000_000, maxFutureSkewNanos: Int64 = 2 * 3_600 * 1_000_000_000, maxBytes: Int = 16 << 20) {
        self.maxAgeNanos = maxAgeNanos
        self.maxFutureSkewNanos = maxFutureSkewNanos
        self.maxBytes = maxBytes
    }
}

/// One Kafka record as the shard sees it: borrowed bytes plus where it came from.
/// Valid only for the duration of `RecordProcessor.process`.
public struct RecordView {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var timestampUnixMillis: Int64
    public var value: UnsafeRawBufferPointer
    /// The value is OTLP/JSON (topic encoding or `content-type: application/json`).
    public var isJSON: Bool
    /// Raw `traceparent` header value, if present.
    public var traceparent: UnsafeRawBufferPointer?
    /// Raw `baggage` header value, if present.
    public var baggage: UnsafeRawBufferPointer?
    /// Raw `tracestate` header value, if present (its `ot=th` threshold applies to every span of the
    /// record that has none in its own `trace_state`).
    public var tracestate: UnsafeRawBufferPointer?

    public init(
        topic: String, partition: Int32, offset: Int64, timestampUnixMillis: Int64, value: UnsafeRawBufferPointer,
        isJSON: Bool, traceparent: UnsafeRawBufferPointer? = nil, baggage: UnsafeRawBufferPointer? = nil,
        tracestate: UnsafeRawBufferPointer? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestampUnixMillis = timestampUnixMillis
        self.value = value
        self.isJSON = isJSON
        self.traceparent = traceparent
        self.baggage = baggage
        self.tracestate = tracestate
    }
}

@available(*, unavailable) extension RecordView: Sendable {}

/// What became of one record.
public enum RecordOutcome: Equatable, Sendable {
    /// Its spans were folded (priced or excluded).
    case counted(spans: Int)
    /// It was rejected whole; a `RejectedRecord` was appended to the delta.
    case rejected(RejectReason)
}

/// Decodes, validates, prices and folds whole records into an `EpochDelta`: the shard's per-record work.
///
/// Guarantees: a record is all-or-nothing — either every span of it is folded, or none is and exactly
/// one `RejectedRecord` is appended (reason codes of docs/ledger.md). Time checks use the record's
/// Kafka timestamp, never the wall clock, so a replay gives the same outcome. Owned by one shard (its
/// copies share one ``SpanDecoding/ResourceCache`` and one ``KeyInterner``: never use two copies at
/// once); its scratch buffer is reused, so steady-state processing allocates nothing per span (strings
/// copied into the delta's new keys aside, and a key string only when no recent span had it), and a
/// protobuf resource repeated across records is decoded once.
public struct RecordProcessor {
    private var scratch: [DecodedSpan] = []
    /// Resources decoded from recent records (protobuf only): a record repeating one is not decoded
    /// again. The spans in `scratch` may point into it until the next record.
    private let resources = ResourceCache()
    /// Where OTLP/JSON strings with escapes are unescaped (JSON only): the spans in `scratch` may point
    /// into it until the next record.
    private let jsonScratch = JSONScratch()
    /// Key strings of recent spans (session ids, names): a repeated one is not allocated again.
    private let keys = KeyInterner()
    public var pricer: SpanPricer
    public var limits: RecordLimits

    public init(pricer: SpanPricer, limits: RecordLimits) {
        self.pricer = pricer
        self.limits = limits
        scratch.reserveCapacity(1024)
    }

    /// The `too_large` check, made before a record's bytes are copied anywhere.
    public static func rejectTooLarge(
        topic: String, partition: Int32, offset: Int64, timestampUnixMillis: Int64, size: Int, limit: Int
    ) -> RejectedRecord? {
        guard size > limit else { return nil }
        return RejectedRecord(
            topic: topic, partition: partition, offset: offset, reason: .tooLarge,
            detail: "value of \(size) bytes exceeds records.max_bytes \(limit)", sizeBytes: Int64(size),
            recordTimeUnixMillis: timestampUnixMillis)
    }

    public mutating func process(_ record: RecordView, into delta: inout EpochDelta) -> RecordOutcome {
        func reject(_ reason: RejectReason, _ detail: String) -> RecordOutcome {
            delta.rejected.append(
                RejectedRecord(
                    topic: record.topic, partition: record.partition, offset: record.offset, reason: reason,
                    detail: BoundedText.key(detail, limit: BoundedText.detailLimit), sizeBytes: Int64(record.value.count), recordTimeUnixMillis: record.timestampUnixMillis))
            delta.counters.recordsRejected += 1
            return .rejected(reason)
        }
        if let tooLarge = Self.rejectTooLarge(
            topic: record.topic, partition: record.partition, offset: record.offset,
            timestampUnixMillis: record.timestampUnixMillis, size: record.value.count, limit: limits.maxBytes)
        {
            delta.rejected.append(tooLarge)
            delta.counters.recordsRejected += 1
            return .rejected(.tooLarge)
        }
        if record.value.isEmpty { return reject(.empty, "zero-length value") }

        scratch.removeAll(keepingCapacity: true)
        defer { scratch.removeAll(keepingCapacity: true) }
        do throws(SpanDecodingError) {
            if record.isJSON {
                try OTLPJSONReader.appendSpans(in: record.value, scratch: jsonScratch, to: &scratch)
            } else {
                try OTLPProtobufReader.forEachSpan(in: record.value, cache: resources) { span in scratch.append(copy span) }
            }
        } catch {
            return reject(error.code == .badIDs ? .badIDs : .undecodable, error.description)
        }
        if scratch.isEmpty { return reject(.empty, "no spans") }

        // The record's own time must be a time: representable in ns (before 2262) and not past this
        // worker's clock + max_future_skew. Only such a time may serve as "now" for the checks below.
        let recordNanos = record.timestampUnixMillis.multipliedReportingOverflow(by: 1_000_000)
        if recordNanos.overflow || record.timestampUnixMillis > limits.recordTimeCeilingUnixMillis {
            return reject(
                .timestampOutOfRange,
                "record time \(record.timestampUnixMillis) ms is "
                    + (recordNanos.overflow ? "not representable in nanoseconds" : "later than this worker's clock + max_future_skew"))
        }
        // Rule 5: every span must start inside [record time − max_age, record time + max_future_skew].
        do {
            let low = recordNanos.partialValue.subtractingReportingOverflow(limits.maxAgeNanos)
            let high = recordNanos.partialValue.addingReportingOverflow(limits.maxFutureSkewNanos)
            let lowBound = low.overflow ? Int64.min : low.partialValue
            let highBound = high.overflow ? Int64.max : high.partialValue
            // By index: a `for span in` loop copies each ~0.5 KiB span out of the array.
            for i in scratch.indices {
                let start = scratch[i].startTimeUnixNano
                if start > UInt64(Int64.max) || Int64(start) < lowBound || Int64(start) > highBound {
                    return reject(
                        .timestampOutOfRange,
                        "span \(scratch[i].spanID) starts at \(start) ns, outside [\(lowBound), \(highBound)] around record time \(record.timestampUnixMillis) ms")
                }
            }
        }

        // Header context: a bad `traceparent` is counted, never fatal; the body's ids win.
        var headerTraceID: TraceID?
        if let tp = record.traceparent {
            if let parsed = TraceParent.parseOrNil(tp) {
                headerTraceID = parsed.traceID
            } else {
                delta.counters.recordsBadTraceparent += 1
            }
        }
        var baggageSession: String?
        if let bag = record.baggage {
            baggageSession = Self.baggageSessionID(bag, keys: limits.baggageSessionKeyBytes)
        }
        // An invalid `tracestate` header is ignored whole (W3C Trace Context), never fatal.
        let recordThreshold = record.tracestate.flatMap { try? TraceState.otelThreshold(in: $0) }

        // One run for the record: its consecutive spans of one trace and hour add up outside the maps.
        var run = TraceRun()
        for i in scratch.indices {
            if let h = headerTraceID, h != scratch[i].traceID { delta.counters.spansTraceMismatch += 1 }
            let cost = pricer.price(scratch[i])
            delta.fold(scratch[i], cost: cost, baggageSessionID: baggageSession, recordThreshold: recordThreshold, keys: keys, run: &run)
        }
        delta.flush(&run)
        delta.counters.recordsCounted += 1
        return .counted(spans: scratch.count)
    }

    /// The session id a `baggage` header gives: the value of the first of `keys` (in order) that the
    /// header holds with a non-empty value; nil when none does or the header is invalid (ignored whole).
    static func baggageSessionID(_ bytes: UnsafeRawBufferPointer, keys: [[UInt8]]) -> String? {
        guard (try? Baggage.validate(bytes)) != nil else { return nil }
        for key in keys {
            let found = key.withUnsafeBytes { k -> String? in
                guard let raw = try? Baggage.rawValue(forKey: k, in: bytes), !raw.isEmpty else { return nil }
                return Baggage.decodedString(raw)
            }
            if let found { return found }
        }
        return nil
    }
}
