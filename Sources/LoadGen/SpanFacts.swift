public import TraceContext

/// An OTLP attribute value as LoadGen produces it (arrays, maps and bytes are never generated; when read
/// back from OTLP they are kept as `.other` so that a lookup still sees the key as present).
public enum AttributeValue: Sendable, Hashable {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case other
}

/// One attribute (key, value).
public struct Attribute: Sendable, Hashable {
    public var key: String
    public var value: AttributeValue
    public init(_ key: String, _ value: AttributeValue) {
        self.key = key
        self.value = value
    }
}

/// OTLP span kind (same raw values as the wire).
public enum SpanKind: Int, Sendable, Hashable {
    case unspecified = 0
    case `internal` = 1
    case server = 2
    case client = 3
    case producer = 4
    case consumer = 5
}

/// Everything the reference pricer and the manifest need to know about one span, already resolved
/// (span attribute first, then resource attribute). The generator fills it directly from the values it
/// encodes; `init(traceID:…spanAttributes:resourceAttributes:)` derives it from attributes read back
/// from OTLP, which is how the round-trip test checks that the two agree.
public struct SpanFacts: Sendable, Hashable {
    public var traceID: TraceID
    /// Root span = no parent span id.
    public var isRoot: Bool
    public var name: String
    public var kind: SpanKind
    public var startTimeNanos: UInt64
    public var endTimeNanos: UInt64
    /// Status code ERROR.
    public var isError: Bool

    public var serviceName: String?
    /// `deployment.environment.name`, else `deployment.environment`.
    public var environment: String?
    /// `cost.usd` as found (any type).
    public var upstreamCost: AttributeValue?
    public var hostType: String?
    public var cloudRegion: String?
    public var cloudPlatform: String?
    /// Some `faas.*` attribute is present (span or resource).
    public var hasFaaSAttribute: Bool
    public var faasMaxMemoryBytes: Int64?
    /// `gen_ai.response.model`, else `gen_ai.request.model`.
    public var model: String?
    /// `gen_ai.usage.input_tokens`, else deprecated `gen_ai.usage.prompt_tokens`.
    public var inputTokens: Int64?
    /// `gen_ai.usage.output_tokens`, else deprecated `gen_ai.usage.completion_tokens`.
    public var outputTokens: Int64?
    public var cacheReadTokens: Int64?
    public var cacheCreationTokens: Int64?
    public var sessionID: String?
    public var agentDepth: Int64?
    public var agentCeilingHit: Bool
    public var agentParentSession: String?

    public init(
        traceID: TraceID, isRoot: Bool, name: String, kind: SpanKind, startTimeNanos: UInt64, endTimeNanos: UInt64,
        isError: Bool
    ) {
        self.traceID = traceID
        self.isRoot = isRoot
        self.name = name
        self.kind = kind
        self.startTimeNanos = startTimeNanos
        self.endTimeNanos = endTimeNanos
        self.isError = isError
        hasFaaSAttribute = false
        agentCeilingHit = false
    }

    /// Derives the facts from attributes: each key is looked up on the span first, then on the resource
    /// (docs/pricing.md). Values of an unexpected type count as absent (except `cost.usd`, kept as is).
    public init(
        traceID: TraceID, isRoot: Bool, name: String, kind: SpanKind, startTimeNanos: UInt64, endTimeNanos: UInt64,
        isError: Bool, spanAttributes: [Attribute], resourceAttributes: [Attribute]
    ) {
        self.init(
            traceID: traceID, isRoot: isRoot, name: name, kind: kind, startTimeNanos: startTimeNanos,
            endTimeNanos: endTimeNanos, isError: isError)
        func find(_ key: String) -> AttributeValue? {
            if let a = spanAttributes.first(where: { $0.key == key }) { return a.value }
            return resourceAttributes.first(where: { $0.key == key })?.value
        }
        func string(_ key: String) -> String? {
            if case .string(let s) = find(key) { return s }
            return nil
        }
        func int(_ key: String) -> Int64? {
            if case .int(let i) = find(key) { return i }
            return nil
        }
        serviceName = string("service.name")
        environment = string("deployment.environment.name") ?? string("deployment.environment")
        upstreamCost = find("cost.usd")
        hostType = string("host.type")
        cloudRegion = string("cloud.region")
        cloudPlatform = string("cloud.platform")
        hasFaaSAttribute =
            spanAttributes.contains { $0.key.hasPrefix("faas.") } || resourceAttributes.contains { $0.key.hasPrefix("faas.") }
        faasMaxMemoryBytes = int("faas.max_memory")
        model = string("gen_ai.response.model") ?? string("gen_ai.request.model")
        inputTokens = int("gen_ai.usage.input_tokens") ?? int("gen_ai.usage.prompt_tokens")
        outputTokens = int("gen_ai.usage.output_tokens") ?? int("gen_ai.usage.completion_tokens")
        cacheReadTokens = int("gen_ai.usage.cache_read.input_tokens")
        cacheCreationTokens = int("gen_ai.usage.cache_creation.input_tokens")
        sessionID = string("session.id")
        agentDepth = int("agent.depth")
        if case .bool(true) = find("agent.ceiling_hit") { agentCeilingHit = true }
        agentParentSession = string("agent.parent_session")
    }

    /// An entry span: SERVER or CONSUMER, or no parent (docs/pricing.md rule 2).
    public var isEntry: Bool { isRoot || kind == .server || kind == .consumer }

    /// Serverless resource: a FaaS platform or any `faas.*` attribute.
    public var isServerless: Bool {
        hasFaaSAttribute || cloudPlatform == "aws_lambda" || cloudPlatform == "gcp_cloud_functions"
            || cloudPlatform == "azure_functions"
    }
}
