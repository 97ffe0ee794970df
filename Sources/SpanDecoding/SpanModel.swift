public import TraceContext

/// A borrowed view of bytes inside a record being decoded (an id, a name, an attribute value).
///
/// Guarantee: it never owns or copies memory. It is valid only inside the decoding call that produced
/// it (e.g. the `forEachSpan` closure); it is deliberately not `Sendable`, so it cannot cross to an actor.
/// Copy out what you keep (`string`, `TraceID`).
public struct ByteView {
    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public var count: Int { bytes.count }
    public var isEmpty: Bool { bytes.isEmpty }

    /// Copies the bytes into a `String` (invalid UTF-8 is repaired with U+FFFD).
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Byte-wise equality with a string's UTF-8, without allocating.
    public func equals(_ s: StaticString) -> Bool {
        guard s.utf8CodeUnitCount == bytes.count else { return false }
        return s.withUTF8Buffer { other in
            bytes.count == 0 || memcmpEqual(bytes.baseAddress!, UnsafeRawPointer(other.baseAddress!), bytes.count)
        }
    }

    /// True when the bytes start with the string's UTF-8.
    public func hasPrefix(_ s: StaticString) -> Bool {
        guard s.utf8CodeUnitCount <= bytes.count else { return false }
        return s.withUTF8Buffer { other in
            other.count == 0 || memcmpEqual(bytes.baseAddress!, UnsafeRawPointer(other.baseAddress!), other.count)
        }
    }
}

@available(*, unavailable, message: "ByteView borrows the record's bytes; copy what you keep")
extension ByteView: Sendable {}

@inline(__always)
func memcmpEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    for i in 0..<n where a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) {
        return false
    }
    return true
}

/// OTLP `Span.SpanKind` (field 6). Unknown values are kept as `.unspecified`.
public enum SpanKind: UInt8, Sendable {
    case unspecified = 0, `internal` = 1, server = 2, client = 3, producer = 4, consumer = 5
}

/// OTLP `Status.code` (field 3).
public enum StatusCode: UInt8, Sendable {
    case unset = 0, ok = 1, error = 2
}

/// A scalar attribute value as read from OTLP `AnyValue`, borrowing string bytes.
/// Arrays, kvlists and bytes are reported as `.other` (no attribute of the cost model uses them).
public enum AttributeValue {
    case string(ByteView)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case other
}

/// The attributes the cost model (docs/pricing.md) and the ledger (§3) read, picked out of a span's or
/// a resource's attribute list while decoding. Every field is nil when the key is absent; when a key
/// occurs twice, the last occurrence wins. Unknown keys are skipped without allocating.
///
/// Lookup rule (§2): span first, then resource: `span.fillAbsent(from: resource)`.
public struct KnownAttributes {
    // Cost model.
    public var costUSD: AttributeValue?                 // cost.usd (double, int or decimal string)
    public var hostType: ByteView?                      // host.type
    public var cloudRegion: ByteView?                   // cloud.region
    public var cloudPlatform: ByteView?                 // cloud.platform
    public var faasMaxMemoryBytes: Int64?               // faas.max_memory (bytes)
    public var hasFaasAttribute: Bool = false           // any faas.* key present
    public var responseModel: ByteView?                 // gen_ai.response.model
    public var requestModel: ByteView?                  // gen_ai.request.model
    public var inputTokens: Int64?                      // gen_ai.usage.input_tokens
    public var outputTokens: Int64?                     // gen_ai.usage.output_tokens
    public var cacheReadInputTokens: Int64?             // gen_ai.usage.cache_read.input_tokens
    public var cacheCreationInputTokens: Int64?         // gen_ai.usage.cache_creation.input_tokens
    public var promptTokens: Int64?                     // gen_ai.usage.prompt_tokens (deprecated)
    public var completionTokens: Int64?                 // gen_ai.usage.completion_tokens (deprecated)
    public var environmentName: ByteView?               // deployment.environment.name
    public var environmentLegacy: ByteView?             // deployment.environment (deprecated)
    // Ledger.
    public var serviceName: ByteView?                   // service.name
    public var sessionID: ByteView?                     // session.id
    public var agentDepth: Int64?                       // agent.depth
    public var agentCeilingHit: Bool?                   // agent.ceiling_hit
    public var agentParentSession: ByteView?            // agent.parent_session

    public init() {}

    /// Keeps self's values where present and takes each absent one from `resource`, in place (no copy
    /// of the whole ~0.5 KiB struct, which the decoders once made per span).
    @inline(__always)
    public mutating func fillAbsent(from resource: borrowing KnownAttributes) {
        if costUSD == nil { costUSD = resource.costUSD }
        if hostType == nil { hostType = resource.hostType }
        if cloudRegion == nil { cloudRegion = resource.cloudRegion }
        if cloudPlatform == nil { cloudPlatform = resource.cloudPlatform }
        if faasMaxMemoryBytes == nil { faasMaxMemoryBytes = resource.faasMaxMemoryBytes }
        if responseModel == nil { responseModel = resource.responseModel }
        if requestModel == nil { requestModel = resource.requestModel }
        if inputTokens == nil { inputTokens = resource.inputTokens }
        if outputTokens == nil { outputTokens = resource.outputTokens }
        if cacheReadInputTokens == nil { cacheReadInputTokens = resource.cacheReadInputTokens }
        if cacheCreationInputTokens == nil { cacheCreationInputTokens = resource.cacheCreationInputTokens }
        if promptTokens == nil { promptTokens = resource.promptTokens }
        if completionTokens == nil { completionTokens = resource.completionTokens }
        if environmentName == nil { environmentName = resource.environmentName }
        if environmentLegacy == nil { environmentLegacy = resource.environmentLegacy }
        if serviceName == nil { serviceName = resource.serviceName }
        if sessionID == nil { sessionID = resource.sessionID }
        if agentDepth == nil { agentDepth = resource.agentDepth }
        if agentCeilingHit == nil { agentCeilingHit = resource.agentCeilingHit }
        if agentParentSession == nil { agentParentSession = resource.agentParentSession }
        if !hasFaasAttribute { hasFaasAttribute = resource.hasFaasAttribute }
    }
}

@available(*, unavailable) extension KnownAttributes: Sendable {}

/// One decoded span, borrowing the record's bytes (see `ByteView`). `attributes` is already the
/// span-over-resource merge of `KnownAttributes`.
public struct DecodedSpan {
    public var traceID: TraceID
    public var spanID: SpanID
    /// Zero when the span has no parent (a root).
    public var parentSpanID: SpanID
    public var name: ByteView
    public var kind: SpanKind
    public var startTimeUnixNano: UInt64
    public var endTimeUnixNano: UInt64
    public var statusCode: StatusCode
    /// `Span.trace_state` (field 3), empty when absent.
    public var traceState: ByteView
    public var attributes: KnownAttributes
    /// `Span.flags` (field 16, fixed32): the low 8 bits are the W3C trace flags; 0 when absent.
    public var flags: UInt32

    public init(
        traceID: TraceID, spanID: SpanID, parentSpanID: SpanID, name: ByteView, kind: SpanKind,
        startTimeUnixNano: UInt64, endTimeUnixNano: UInt64, statusCode: StatusCode,
        traceState: ByteView, attributes: KnownAttributes, flags: UInt32 = 0
    ) {
        self.flags = flags
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.statusCode = statusCode
        self.traceState = traceState
        self.attributes = attributes
    }

    /// A root: no parent span id.
    public var isRoot: Bool { parentSpanID.isZero }

    /// The span has a parent span id (the opposite of `isRoot`).
    public var hasParent: Bool { !parentSpanID.isZero }

    /// The OpenTelemetry sampling threshold of the span's own `trace_state` (`ot=th:…`), or nil when
    /// absent or when the trace state is invalid. `threshold.adjustedCount` is the number of spans this
    /// one stands for (used for the `sampled_spans` estimate, never for cost).
    public var otelThreshold: OTelThreshold? {
        guard !traceState.isEmpty else { return nil }
        return try? TraceState.otelThreshold(in: traceState.bytes)
    }
}

@available(*, unavailable) extension DecodedSpan: Sendable {}
