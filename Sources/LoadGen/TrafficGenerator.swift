internal import Foundation
internal import OTLPProto
internal import SwiftProtobuf
internal import TraceContext

/// How to generate traffic. All knobs are explicit; defaults are stated.
public struct TrafficConfiguration: Sendable, Hashable {
    /// Record layout.
    public enum Shape: String, Sendable, Hashable, CaseIterable {
        /// OpenTelemetry Collector Kafka exporter with `partition_traces_by_id`: one trace per record,
        /// key = lowercase 32-hex trace id, no headers.
        case collector
        /// An SDK-style exporter: spans exported as they end (so a trace is split over several records and
        /// its root usually comes last), records may mix traces, header `traceparent`, no key.
        case sdk
        /// The Collector's Kafka exporter fed by agents that each forward one service's spans: key = trace id,
        /// but a record holds one service's part of a trace (chunks of 4–5 spans), so a trace of ~50 spans
        /// arrives in ~10 records. Defaults for this shape (each overridable): 40–60 spans a trace
        /// (`spansPerTrace`), 20 % of traces in excluded environments (`excludedTraceFraction`), 4–7
        /// attributes a span (~250 bytes; `attributesPerSpan`).
        case collectorSplit = "collector-split"
    }

    public var seed: UInt64
    public var shape: Shape
    /// "Now": every record's Kafka timestamp (ms = this / 1e6); spans start within the 15 minutes before.
    public var recordTimeNanos: UInt64
    /// Share of POISON records among all records (0...0.5; default 0.01). Reasons rotate over every code.
    public var poisonFraction: Double = 0.01
    /// When set, `too_large` poison records exceed this many bytes (and must be ≥ 262144 so that normal
    /// records never do). nil (default): no `too_large` records.
    public var tooLargeLimitBytes: Int? = nil
    /// Share of LLM calls to a model no catalog knows (unpriced; default 0.01).
    public var unknownModelFraction: Double = 0.01
    /// Share of non-LLM spans carrying an upstream `cost.usd` (default 0.02; ~20% of those invalid).
    public var upstreamCostFraction: Double = 0.02
    /// Share of spans with end < start (default 0.003).
    public var clampedFraction: Double = 0.003
    /// Share of spans with status ERROR (default 0.02).
    public var errorFraction: Double = 0.02
    /// Exactly this many spans in every trace (1...1000; padding with internal and database spans when
    /// the trace's own call graph is smaller). nil (default): the call graph decides (at most 80 spans;
    /// `collector-split`: 40–60 spans).
    public var spansPerTrace: Int? = nil
    /// Share of traces sent AGAIN later (0...1; default 0): every non-root span once more with a new span
    /// id (parents remapped), same trace id, ~64 traces after the first arrival, so the ledger's rows of
    /// the trace are updated rather than inserted. Both arrivals are in the manifest; a repeat still
    /// waiting when generation stops is never sent and never counted.
    public var repeatFraction: Double = 0
    /// Share of traces in an environment the catalog excludes (0...1). nil (default): the model's
    /// environment weights (~7 % excluded; `collector-split`: 0.2).
    public var excludedTraceFraction: Double? = nil
    /// SDK shape: at most this many spans in a record's chunk of one trace (1...64; default 8).
    public var sdkSpansPerRecordMax: Int = 8
    /// Attributes per span, common ones included, filled up to a number drawn from this range. nil
    /// (default): 10–20 (`collector-split`: 4–7).
    public var attributesPerSpan: ClosedRange<Int>? = nil

    public init(seed: UInt64, shape: Shape, recordTimeNanos: UInt64) {
        self.seed = seed
        self.shape = shape
        self.recordTimeNanos = recordTimeNanos
    }
}

/// A Kafka record header.
public struct RecordHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]
    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }
}

/// What the pipeline must do with a record.
public enum ExpectedOutcome: Sendable, Hashable {
    /// Decoded and counted; `spans` spans (excluded-environment spans included).
    case accepted(spans: Int)
    /// Rejected with this reason (a `rejected_records` row and a DLQ copy).
    case rejected(RejectReason)
}

/// One Kafka record to produce: the producer chooses topic and partition (by key, else by the
/// `traceparent` trace id, else round robin) and should set the record timestamp to `timestampMilliseconds`.
public struct GeneratedRecord: Sendable, Hashable {
    /// Lowercase 32-hex trace id (collector shape), nil (SDK shape).
    public var key: [UInt8]?
    /// OTLP `ExportTraceServiceRequest` protobuf bytes (or poison).
    public var value: [UInt8]
    public var headers: [RecordHeader]
    public var timestampMilliseconds: Int64
    public var expected: ExpectedOutcome
}

/// Deterministic synthetic OTLP traffic plus its expected-totals manifest.
///
/// Same configuration and same sequence of `generate(traces:)` calls → byte-identical records and an
/// identical manifest. Every span is priced when generated by the independent `ReferencePricer`, from
/// the generator's own description of the span (`SpanFacts`), never by decoding the bytes.
/// Not thread-safe (a value type; use one per task).
public struct TrafficGenerator: Sendable {
    public let configuration: TrafficConfiguration
    public let pricer: ReferencePricer
    var rng: SeededRandom
    private var builder: ManifestBuilder
    /// Indexed by `service × environments.count + environment`.
    private var resources: [Resource?] = Array(
        repeating: nil, count: TrafficModel.services.count * TrafficModel.environments.count)
    private var sessions: [String] = []
    private var poisonCounter = 0
    /// Traces chosen to be sent again (oldest first; bounded by `repeatDelayTraces`).
    var pendingRepeats: [[SynthSpan]] = []
    /// How many chosen traces wait before the oldest is sent again.
    static let repeatDelayTraces = 64
    private let domainWeightTotal: Int
    let envWeightTotal: Int
    /// Spans generated into accepted records so far.
    public private(set) var spansGenerated = 0
    /// Records generated so far (accepted and poison).
    public private(set) var recordsGenerated = 0

    /// - Throws: `LoadGenError.Code.configurationInvalid` for out-of-range knobs.
    public init(configuration: TrafficConfiguration, pricer: ReferencePricer) throws(LoadGenError) {
        guard (0...0.5).contains(configuration.poisonFraction) else {
            throw LoadGenError(.configurationInvalid, "poisonFraction must be in 0...0.5")
        }
        if let limit = configuration.tooLargeLimitBytes, limit < 262_144 {
            throw LoadGenError(.configurationInvalid, "tooLargeLimitBytes must be at least 262144 (normal records stay below)")
        }
        guard configuration.recordTimeNanos > 40 * 86_400 * 1_000_000_000 else {
            throw LoadGenError(.configurationInvalid, "recordTimeNanos must be a recent Unix time in nanoseconds")
        }
        if let n = configuration.spansPerTrace, !(1...1_000).contains(n) {
            throw LoadGenError(.configurationInvalid, "spansPerTrace must be in 1...1000")
        }
        guard (0...1).contains(configuration.repeatFraction) else {
            throw LoadGenError(.configurationInvalid, "repeatFraction must be in 0...1")
        }
        if let f = configuration.excludedTraceFraction, !(0...1).contains(f) {
            throw LoadGenError(.configurationInvalid, "excludedTraceFraction must be in 0...1")
        }
        guard (1...64).contains(configuration.sdkSpansPerRecordMax) else {
            throw LoadGenError(.configurationInvalid, "sdkSpansPerRecordMax must be in 1...64")
        }
        if let r = configuration.attributesPerSpan, r.lowerBound < 1 || r.upperBound > 64 {
            throw LoadGenError(.configurationInvalid, "attributesPerSpan must lie within 1...64")
        }
        self.configuration = configuration
        self.pricer = pricer
        rng = SeededRandom(seed: configuration.seed)
        builder = ManifestBuilder(
            generator: Manifest.GeneratorInfo(
                seed: configuration.seed, shape: configuration.shape.rawValue,
                recordTimeNanos: configuration.recordTimeNanos))
        domainWeightTotal = TrafficModel.domains.reduce(0) { $0 + $1.weight }
        envWeightTotal = TrafficModel.environments.reduce(0) { $0 + $1.weight }
    }

    /// The expected totals of everything generated so far.
    public var manifest: Manifest { builder.manifest }

    /// Generates `traces` traces (and, interleaved, about `poisonFraction` poison records), prices them
    /// into the manifest, and returns their records in production order.
    public mutating func generate(traces: Int) throws(LoadGenError) -> [GeneratedRecord] {
        var out: [GeneratedRecord] = []
        out.reserveCapacity(traces * (configuration.shape == .collector ? 1 : 4))
        var remaining = traces
        while remaining > 0 {
            let window = configuration.shape == .sdk ? min(remaining, 4) : 1
            remaining -= window
            var batch: [[SynthSpan]] = []
            for _ in 0..<window {
                let trace = makeTrace()
                batch.append(trace)
                if configuration.repeatFraction > 0 { batch += scheduleRepeat(of: trace) }
            }
            let records: [PendingRecord]
            switch configuration.shape {
            case .collector: records = collectorRecords(batch)
            case .sdk: records = sdkRecords(batch)
            case .collectorSplit: records = collectorSplitRecords(batch)
            }
            for var r in records {
                try account(&r)
                out.append(r.record)
                if rng.chance(configuration.poisonFraction / max(1e-9, 1 - configuration.poisonFraction)) {
                    out.append(makePoison())
                }
            }
        }
        return out
    }

    // MARK: - Accounting

    private mutating func account(_ r: inout PendingRecord) throws(LoadGenError) {
        recordsGenerated += 1
        if let limit = configuration.tooLargeLimitBytes, r.record.value.count > limit {
            // Never happens for the sizes generated (limit ≥ 256 KiB); kept exact anyway.
            r.record.expected = .rejected(.tooLarge)
            builder.recordRejected(.tooLarge)
            return
        }
        builder.recordAccepted()
        // A span's own trace_state threshold wins; else the record's `tracestate` header applies.
        let header = r.record.headers.last(where: { $0.name == "tracestate" }).map { String(decoding: $0.value, as: UTF8.self) } ?? ""
        for s in r.spans {
            let own = ReferenceSampling.threshold(s.traceState) != nil ? s.traceState : header
            builder.add(span: s.facts, price: try pricer.price(s.facts), sampledMicro: ReferenceSampling.micro(traceState: own))
        }
        spansGenerated += r.spans.count
    }

    // MARK: - Traces

    struct ResourceKey: Hashable {
        var service: Int
        var environment: Int
    }

    struct Resource {
        var otlp: OTLPResource
        /// `Resource` message body, encoded once.
        var encoded: [UInt8]
        var facts: SpanFacts  // only the resource-level fields are meaningful
    }

    struct SynthSpan {
        var facts: SpanFacts
        var spanID: UInt64
        var parentSpanID: UInt64
        var resource: ResourceKey
        var attributes: [Attribute]
        var traceState: String
    }

    struct TraceContextState {
        var traceID: TraceID
        var environment: Int
        var domain: TrafficModel.Domain
        var spans: [SynthSpan] = []
        var sessionID: String?
        var traceState: String
        var spansMax = 80
    }

    private mutating func weightedDomain() -> TrafficModel.Domain {
        var x = rng.below(domainWeightTotal)
        for d in TrafficModel.domains {
            if x < d.weight { return d }
            x -= d.weight
        }
        return TrafficModel.domains[0]
    }

    mutating func weightedEnvironment() -> Int {
        var x = rng.below(envWeightTotal)
        for (i, e) in TrafficModel.environments.enumerated() {
            if x < e.weight { return i }
            x -= e.weight
        }
        return 0
    }

    private mutating func newTraceID() -> TraceID {
        var id = TraceID(high: rng.next(), low: rng.next())
        if id.isZero { id.low = 1 }
        return id
    }

    mutating func newSpanID() -> UInt64 {
        let v = rng.next()
        return v == 0 ? 1 : v
    }

    mutating func resource(_ key: ResourceKey) -> Resource {
        let slot = key.service * TrafficModel.environments.count + key.environment
        if let r = resources[slot] { return r }
        let svc = TrafficModel.services[key.service]
        let env = TrafficModel.environments[key.environment]
        var attrs: [Attribute] = [
            Attribute("service.name", .string(svc.name)),
            Attribute("service.namespace", .string(svc.namespace)),
            Attribute("service.version", .string("1.\(key.service + 3).\(key.service * 7 % 10)")),
            Attribute("service.instance.id", .string("\(svc.name)-\(hex(UInt64(key.service * 7919 + 1)).suffix(6))")),
            Attribute("telemetry.sdk.name", .string("opentelemetry")),
            Attribute("telemetry.sdk.language", .string(svc.language)),
            Attribute("telemetry.sdk.version", .string("1.38.0")),
            Attribute("cloud.provider", .string("aws")),
            Attribute("cloud.region", .string(svc.region)),
        ]
        var facts = SpanFacts(
            traceID: TraceID(high: 0, low: 0), isRoot: false, name: "", kind: .internal, startTimeNanos: 0,
            endTimeNanos: 0, isError: false)
        facts.serviceName = svc.name
        facts.cloudRegion = svc.region
        if let mib = svc.lambdaMemoryMiB {
            attrs += [
                Attribute("cloud.platform", .string("aws_lambda")),
                Attribute("faas.name", .string(svc.name)),
                Attribute("faas.version", .string("$LATEST")),
                Attribute("faas.max_memory", .int(mib * 1_048_576)),
                Attribute("faas.instance", .string("2026/01/01/[$LATEST]\(hex(UInt64(key.service) &* 0x9E37_79B9))")),
            ]
            facts.cloudPlatform = "aws_lambda"
            facts.hasFaaSAttribute = true
            facts.faasMaxMemoryBytes = mib * 1_048_576
        } else if let hostType = svc.hostType {
            attrs += [
                Attribute("host.type", .string(hostType)),
                Attribute("host.name", .string("ip-10-0-\(key.service)-\(key.environment + 10).ec2.internal")),
                Attribute("host.arch", .string(hostType.hasPrefix("c6g") ? "arm64" : "amd64")),
                Attribute("cloud.availability_zone", .string(svc.region + "a")),
                Attribute("os.type", .string("linux")),
            ]
            facts.hostType = hostType
        }
        if let name = env.name {
            attrs.append(Attribute(env.deprecatedKey ? "deployment.environment" : "deployment.environment.name", .string(name)))
            facts.environment = name
        }
        var otlp = OTLPResource()
        otlp.attributes = attrs.map(Self.keyValue)
        let r = Resource(otlp: otlp, encoded: Self.encodeResource(attrs), facts: facts)
        resources[slot] = r
        return r
    }

    private mutating func makeTrace() -> [SynthSpan] {
        let domain = weightedDomain()
        var state = TraceContextState(
            traceID: newTraceID(), environment: traceEnvironment(), domain: domain,
            traceState: rng.chance(0.1) ? rng.pick(["ot=th:c", "ot=th:8", "ot=th:fd70a4;rv:0123456789abcd"]) : "")
        let target = spansTarget()
        if let target { state.spansMax = target }
        if domain.sessions, rng.chance(0.85) {
            if sessions.count < 8 || rng.chance(0.25) {
                let id = "sess-" + hex(rng.next()).prefix(12)
                if sessions.count < 64 { sessions.append(id) } else { sessions[rng.below(64)] = id }
                state.sessionID = id
            } else {
                state.sessionID = rng.pick(sessions)
            }
        }
        let now = configuration.recordTimeNanos
        let rootDuration: UInt64 =
            domain.llm == .agentic
            ? UInt64(rng.int(2_000...45_000)) * 1_000_000 : UInt64(rng.int(5_000...2_500_000)) * 1_000
        let start = now - UInt64(rng.int(1_000...900_000)) * 1_000_000 - rootDuration
        _ = entry(
            &state, service: domain.rootService, name: domain.name, kind: domain.rootKind, parent: 0, start: start,
            duration: rootDuration, depth: 0)
        if let target { pad(&state, to: target) }
        return state.spans
    }

    /// An entry span in `service` and what it calls; returns its span id.
    private mutating func entry(
        _ t: inout TraceContextState, service: Int, name: String, kind: SpanKind, parent: UInt64, start: UInt64,
        duration: UInt64, depth: Int
    ) -> UInt64 {
        let id = addSpan(&t, service: service, name: name, kind: kind, parent: parent, start: start, duration: duration) {
            attrs, facts, rng in
            Self.httpServerAttributes(&attrs, name: name, rng: &rng)
            if TrafficModel.services[service].lambdaMemoryMiB != nil {
                attrs.append(Attribute("faas.trigger", .string(kind == .consumer ? "pubsub" : "http")))
                attrs.append(Attribute("faas.coldstart", .bool(rng.chance(0.1))))
                attrs.append(Attribute("faas.invocation_id", .string(hex(rng.next()))))
            } else if rng.chance(0.05) {
                // Span-level override of the resource's region (span first, then resource).
                let region = rng.pick(["eu-west-1", "us-east-1", "ap-northeast-1"])
                attrs.append(Attribute("cloud.region", .string(region)))
                facts.cloudRegion = region
            }
        }
        let d = t.domain
        // Internal work, possibly with a database client call inside.
        for _ in 0..<rng.int(0...3) where t.spans.count < t.spansMax {
            let (s, dur) = sub(start, duration)
            let internalID = addSpan(
                &t, service: service, name: rng.pick(TrafficModel.internalNames), kind: .internal, parent: id,
                start: s, duration: dur
            ) { attrs, facts, rng in
                attrs.append(Attribute("code.function", .string("handle")))
                attrs.append(Attribute("code.namespace", .string("app.\(TrafficModel.services[service].namespace)")))
            }
            if rng.chance(0.6), t.spans.count < t.spansMax {
                let (s2, dur2) = sub(s, dur)
                dbCall(&t, service: service, parent: internalID, start: s2, duration: dur2)
            }
        }
        // Downstream services.
        if depth < 4 {
            for callee in d.calls[service] ?? [] where rng.chance(0.8) && t.spans.count < t.spansMax - 2 {
                let (s, dur) = sub(start, duration)
                let calleeProfile = TrafficModel.services[callee]
                let clientID = addSpan(
                    &t, service: service, name: "POST " + (calleeProfile.entryName.split(separator: " ").last.map(String.init) ?? calleeProfile.entryName),
                    kind: .client, parent: id, start: s, duration: dur
                ) { attrs, facts, rng in
                    attrs.append(Attribute("server.address", .string(calleeProfile.name + ".internal")))
                    attrs.append(Attribute("server.port", .int(8080)))
                    attrs.append(Attribute("http.request.method", .string("POST")))
                    attrs.append(Attribute("http.response.status_code", .int(facts.isError ? 503 : 200)))
                }
                let (s2, dur2) = sub(s, dur)
                _ = entry(
                    &t, service: callee, name: calleeProfile.entryName, kind: .server, parent: clientID, start: s2,
                    duration: dur2, depth: depth + 1)
            }
        }
        // LLM calls.
        if service == d.llmService, d.llm != .none {
            switch d.llm {
            case .none: break
            case .light:
                for _ in 0..<rng.int(0...2) { llmCall(&t, service: service, parent: id, start: start, duration: duration, depth: nil, session: t.sessionID, parentSession: nil) }
            case .heavy:
                for _ in 0..<rng.int(1...4) { llmCall(&t, service: service, parent: id, start: start, duration: duration, depth: nil, session: t.sessionID, parentSession: nil) }
            case .agentic:
                agentLoop(&t, service: service, parent: id, start: start, duration: duration, depth: 0, session: t.sessionID, parentSession: nil)
            }
        }
        // Asynchronous work: a queue consumer and a Lambda.
        if service == d.rootService, depth == 0 {
            if let consumer = d.queueConsumer, t.spans.count < t.spansMax - 2 {
                let (s, dur) = sub(start, duration)
                let producerID = addSpan(
                    &t, service: service, name: "order.created publish", kind: .producer, parent: id, start: s,
                    duration: dur / 8 + 1
                ) { attrs, _, _ in
                    attrs.append(Attribute("messaging.system", .string("kafka")))
                    attrs.append(Attribute("messaging.destination.name", .string("order.created")))
                    attrs.append(Attribute("messaging.operation.type", .string("publish")))
                }
                // The consumer runs after the producer, possibly past the root's end.
                _ = entry(
                    &t, service: consumer, name: TrafficModel.services[consumer].entryName, kind: .consumer,
                    parent: producerID, start: s + dur / 4, duration: UInt64(rng.int(2_000...400_000)) * 1_000,
                    depth: depth + 1)
            }
            if let lambda = d.lambda, rng.chance(0.7), t.spans.count < t.spansMax - 2 {
                let (s, dur) = sub(start, duration)
                let fn = TrafficModel.services[lambda].name
                let invokeID = addSpan(&t, service: service, name: "Lambda.Invoke \(fn)", kind: .client, parent: id, start: s, duration: dur) {
                    attrs, facts, _ in
                    attrs.append(Attribute("faas.invoked_name", .string(fn)))
                    attrs.append(Attribute("faas.invoked_provider", .string("aws")))
                    attrs.append(Attribute("rpc.system", .string("aws-api")))
                    facts.hasFaaSAttribute = true
                }
                let (s2, dur2) = sub(s, dur)
                _ = entry(&t, service: lambda, name: fn, kind: .server, parent: invokeID, start: s2, duration: dur2, depth: depth + 1)
            }
        }
        return id
    }

    mutating func dbCall(_ t: inout TraceContextState, service: Int, parent: UInt64, start: UInt64, duration: UInt64) {
        let (system, op, statement) = rng.pick(TrafficModel.dbStatements)
        _ = addSpan(&t, service: service, name: "\(op) \(system)", kind: .client, parent: parent, start: start, duration: duration) {
            attrs, _, rng in
            attrs.append(Attribute("db.system.name", .string(system)))
            attrs.append(Attribute("db.operation.name", .string(op)))
            attrs.append(Attribute("db.query.text", .string(statement)))
            attrs.append(Attribute("db.namespace", .string("shop")))
            attrs.append(Attribute("server.address", .string(system + ".internal")))
            attrs.append(Attribute("db.response.returned_rows", .int(Int64(rng.int(0...500)))))
        }
    }

    private mutating func agentLoop(
        _ t: inout TraceContextState, service: Int, parent: UInt64, start: UInt64, duration: UInt64, depth: Int64,
        session: String?, parentSession: String?
    ) {
        let steps = rng.int(1...4)
        for _ in 0..<steps where t.spans.count < t.spansMax - 3 {
            let (s, dur) = sub(start, duration)
            let ceiling = rng.chance(0.05)
            let agentID = addSpan(&t, service: service, name: "invoke_agent planner", kind: .internal, parent: parent, start: s, duration: dur) {
                attrs, facts, _ in
                attrs.append(Attribute("gen_ai.operation.name", .string("invoke_agent")))
                attrs.append(Attribute("gen_ai.agent.name", .string(depth == 0 ? "planner" : "sub-agent")))
                attrs.append(Attribute("agent.depth", .int(depth)))
                facts.agentDepth = depth
                if ceiling {
                    attrs.append(Attribute("agent.ceiling_hit", .bool(true)))
                    facts.agentCeilingHit = true
                }
                if let session {
                    attrs.append(Attribute("session.id", .string(session)))
                    facts.sessionID = session
                }
                if let parentSession {
                    attrs.append(Attribute("agent.parent_session", .string(parentSession)))
                    facts.agentParentSession = parentSession
                }
            }
            for _ in 0..<rng.int(1...3) {
                llmCall(&t, service: service, parent: agentID, start: s, duration: dur, depth: depth, session: session, parentSession: parentSession)
            }
            if rng.chance(0.5), t.spans.count < t.spansMax - 3 {
                let (s2, dur2) = sub(s, dur)
                let toolID = addSpan(&t, service: service, name: "execute_tool web_search", kind: .client, parent: agentID, start: s2, duration: dur2) {
                    attrs, _, _ in
                    attrs.append(Attribute("gen_ai.operation.name", .string("execute_tool")))
                    attrs.append(Attribute("gen_ai.tool.name", .string("web_search")))
                }
                let (s3, dur3) = sub(s2, dur2)
                _ = entry(&t, service: TrafficModel.tools, name: TrafficModel.services[TrafficModel.tools].entryName, kind: .server, parent: toolID, start: s3, duration: dur3, depth: 3)
            }
            if depth < 3, rng.chance(0.3), let session {
                let sub = "\(session)-sub\(rng.int(1...3))"
                let (s2, dur2) = self.sub(s, dur)
                agentLoop(&t, service: service, parent: agentID, start: s2, duration: dur2, depth: depth + 1, session: sub, parentSession: session)
            }
        }
    }

    private mutating func llmCall(
        _ t: inout TraceContextState, service: Int, parent: UInt64, start: UInt64, duration: UInt64, depth: Int64?,
        session: String?, parentSession: String?
    ) {
        guard t.spans.count < t.spansMax else { return }
        let models = t.domain.models.isEmpty ? [0] : t.domain.models
        let model = rng.chance(configuration.unknownModelFraction) ? TrafficModel.unknownModel : TrafficModel.models[rng.pick(models)]
        let (s, dur) = sub(start, duration)
        _ = addSpan(&t, service: service, name: "\(model.operation) \(model.request)", kind: .client, parent: parent, start: s, duration: dur) {
            attrs, facts, rng in
            attrs.append(Attribute("gen_ai.operation.name", .string(model.operation)))
            attrs.append(Attribute("gen_ai.provider.name", .string(model.provider)))
            attrs.append(Attribute("gen_ai.request.model", .string(model.request)))
            facts.model = model.request
            if rng.chance(0.85) {
                attrs.append(Attribute("gen_ai.response.model", .string(model.response)))
                facts.model = model.response
            }
            attrs.append(Attribute("gen_ai.request.temperature", .double(Double(rng.int(0...10)) / 10)))
            attrs.append(Attribute("gen_ai.request.max_tokens", .int(4096)))
            attrs.append(Attribute("gen_ai.response.id", .string("resp_" + hex(rng.next()))))
            let input = Int64(rng.int(20...24_000))
            let output: Int64 = model.operation == "embeddings" ? 0 : Int64(rng.int(1...3_000))
            let deprecated = rng.chance(0.1)
            attrs.append(Attribute(deprecated ? "gen_ai.usage.prompt_tokens" : "gen_ai.usage.input_tokens", .int(input)))
            attrs.append(Attribute(deprecated ? "gen_ai.usage.completion_tokens" : "gen_ai.usage.output_tokens", .int(output)))
            facts.inputTokens = input
            facts.outputTokens = output
            if model.caching, rng.chance(0.4) {
                // Mostly within input_tokens; 2% malformed (cache > input: the plain rest clamps at 0).
                let read = rng.chance(0.02) ? input + Int64(rng.int(1...500)) : Int64(rng.below(Int(input) + 1))
                attrs.append(Attribute("gen_ai.usage.cache_read.input_tokens", .int(read)))
                facts.cacheReadTokens = read
                if model.provider == "anthropic", rng.chance(0.5) {
                    let write = Int64(rng.below(Int(max(0, input - read)) + 1))
                    attrs.append(Attribute("gen_ai.usage.cache_creation.input_tokens", .int(write)))
                    facts.cacheCreationTokens = write
                }
            }
            if model.reasoning {
                attrs.append(Attribute("gen_ai.usage.reasoning.output_tokens", .int(output / 2)))
            }
            if let depth {
                attrs.append(Attribute("agent.depth", .int(depth)))
                facts.agentDepth = depth
            }
            if let session {
                attrs.append(Attribute("session.id", .string(session)))
                facts.sessionID = session
            }
            if let parentSession {
                attrs.append(Attribute("agent.parent_session", .string(parentSession)))
                facts.agentParentSession = parentSession
            }
        }
    }

    /// A child window inside [start, start + duration).
    mutating func sub(_ start: UInt64, _ duration: UInt64) -> (UInt64, UInt64) {
        let offset = duration > 4 ? UInt64(rng.below(Int(duration / 2))) : 0
        let rest = duration - offset
        let d = rest > 2 ? UInt64(rng.int(Int(rest / 10)...Int(rest - 1))) : 1
        return (start + offset, max(1, d))
    }

    /// Adds one span with common attributes, the caller's specific ones, filler up to 10–20 attributes,
    /// maybe an upstream `cost.usd`, an error status, or end < start.
    mutating func addSpan(
        _ t: inout TraceContextState, service: Int, name: String, kind: SpanKind, parent: UInt64, start: UInt64,
        duration: UInt64, specific: (inout [Attribute], inout SpanFacts, inout SeededRandom) -> Void
    ) -> UInt64 {
        let key = ResourceKey(service: service, environment: t.environment)
        var facts = resource(key).facts
        let id = newSpanID()
        let isError = rng.chance(configuration.errorFraction)
        var end = start + duration
        if rng.chance(configuration.clampedFraction) { end = start - UInt64(rng.int(1...5_000)) * 1_000 }
        facts.traceID = t.traceID
        facts.isRoot = parent == 0
        facts.name = name
        facts.kind = kind
        facts.startTimeNanos = start
        facts.endTimeNanos = end
        facts.isError = isError
        var attrs: [Attribute] = []
        attrs.reserveCapacity(22)
        attrs.append(Attribute("thread.id", .int(Int64(rng.int(1...64)))))
        attrs.append(Attribute("tenant.id", .string(rng.pick(TrafficModel.tenants))))
        if let session = t.sessionID, parent == 0 {
            attrs.append(Attribute("session.id", .string(session)))
            facts.sessionID = session
        }
        specific(&attrs, &facts, &rng)
        if facts.model == nil, facts.upstreamCost == nil, rng.chance(configuration.upstreamCostFraction) {
            let v = upstreamCostValue()
            attrs.append(Attribute("cost.usd", v))
            facts.upstreamCost = v
        }
        if facts.model == nil, facts.isEntry, !facts.isServerless, rng.chance(0.02) {
            // Span-level host type (span first, then resource).
            let hostType = rng.pick(["m5.large", "c5.2xlarge", "m5.xlarge"])
            attrs.append(Attribute("host.type", .string(hostType)))
            facts.hostType = hostType
        }
        let target = rng.int(attributesRange)
        var k = 0
        while attrs.count < target {
            appendFiller(&attrs, k)
            k += 1
        }
        t.spans.append(
            SynthSpan(
                facts: facts, spanID: id, parentSpanID: parent, resource: key, attributes: attrs,
                traceState: t.traceState))
        return id
    }

    private mutating func appendFiller(_ attrs: inout [Attribute], _ k: Int) {
        switch k {
        case 0: attrs.append(Attribute("enduser.id", .string("user-\(rng.below(50_000))")))
        case 1: attrs.append(Attribute("feature_flag.key", .string(rng.pick(TrafficModel.flags))))
        case 2: attrs.append(Attribute("app.retry_count", .int(Int64(rng.below(3)))))
        case 3: attrs.append(Attribute("app.cache_hit", .bool(rng.chance(0.5))))
        case 4: attrs.append(Attribute("app.latency_budget_ms", .double(Double(rng.int(50...2_000)) / 4)))
        case 5: attrs.append(Attribute("network.protocol.version", .string(rng.chance(0.5) ? "1.1" : "2")))
        case 6: attrs.append(Attribute("app.request.bytes", .int(Int64(rng.int(64...65_536)))))
        case 7: attrs.append(Attribute("thread.name", .string("worker-\(rng.below(16))")))
        case 8: attrs.append(Attribute("app.region.affinity", .string(rng.pick(["us", "eu", "apac"]))))
        case 9: attrs.append(Attribute("app.items", .int(Int64(rng.int(0...40)))))
        case 10: attrs.append(Attribute("app.experiment", .string("exp-\(rng.below(12))")))
        case 11: attrs.append(Attribute("code.lineno", .int(Int64(rng.int(1...2_000)))))
        default: attrs.append(Attribute("app.attr\(k)", .int(Int64(rng.below(1_000)))))
        }
    }

    private static func httpServerAttributes(_ attrs: inout [Attribute], name: String, rng: inout SeededRandom) {
        let parts = name.split(separator: " ", maxSplits: 1)
        if parts.count == 2, parts[0].allSatisfy(\.isUppercase) {
            attrs.append(Attribute("http.request.method", .string(String(parts[0]))))
            attrs.append(Attribute("http.route", .string(String(parts[1]))))
            let route = parts[1]
            if let r = route.firstRange(of: "{id}") {
                attrs.append(Attribute("url.path", .string("\(route[..<r.lowerBound])\(rng.int(1...99_999))\(route[r.upperBound...])")))
            } else {
                attrs.append(Attribute("url.path", .string(String(route))))
            }
            attrs.append(Attribute("http.response.status_code", .int(rng.chance(0.97) ? 200 : 500)))
            attrs.append(Attribute("user_agent.original", .string(rng.pick(TrafficModel.userAgents))))
            attrs.append(Attribute("client.address", .string("10.1.\(rng.below(255)).\(rng.below(255))")))
        }
    }

    /// An upstream `cost.usd`: doubles (incl. exact ties at 9 decimals and long shortest forms), ints,
    /// decimal strings, and ~20% invalid values.
    private mutating func upstreamCostValue() -> AttributeValue {
        switch rng.below(20) {
        case 0...5: return .double(Double(rng.int(1...999_999)) / 10_000_000)  // 0.0000001 ... 0.0999999
        case 6, 7: return .double(rng.unit() * 0.01)  // 17-digit shortest forms, rounded at 9 decimals
        case 8: return .double(Double(2 * rng.int(0...20) + 1) * 5e-10)  // x.5 nano: ties, half to even
        case 9: return .double(Double(rng.int(1...999)) * 1e-12)  // below a nano, printed with an exponent
        case 10: return .int(Int64(rng.int(-1...2)))  // whole dollars; -1 is a credit
        case 11, 12: return .string("0.\(String(repeating: "0", count: rng.int(1...5)))\(rng.int(1...99_999))")
        case 13: return .string("-0.00\(rng.int(1...999))")
        case 14: return .string("0.000000000\(rng.int(1...9))5")  // beyond 9 decimals
        case 15: return .double(.nan)
        case 16: return .double(rng.chance(0.5) ? .infinity : -.infinity)
        case 17: return .string(rng.pick(["n/a", "NaN", "1,5", "", "0x1p-3", "twelve"]))
        case 18: return .double(2.5e9)  // over 1e9 USD
        default: return .int(5_000_000_000)  // over 1e9 USD
        }
    }

    // MARK: - Records

    struct PendingRecord {
        var record: GeneratedRecord
        var spans: [SynthSpan]
    }

    private mutating func request(_ spans: [SynthSpan]) -> OTLPExportTraceServiceRequest {
        // Group by resource in order of first appearance; one scope per resource.
        var order: [ResourceKey] = []
        var groups: [ResourceKey: [OTLPSpan]] = [:]
        for s in spans {
            if groups[s.resource] == nil { order.append(s.resource) }
            groups[s.resource, default: []].append(Self.otlpSpan(s))
        }
        var req = OTLPExportTraceServiceRequest()
        req.resourceSpans = order.map { key in
            var rs = OTLPResourceSpans()
            rs.resource = resource(key).otlp
            var scope = OTLPScopeSpans()
            scope.scope.name = "io.opentelemetry." + TrafficModel.services[key.service].language
            scope.scope.version = "2.10.0"
            scope.spans = groups[key] ?? []
            rs.scopeSpans = [scope]
            rs.schemaURL = "https://opentelemetry.io/schemas/1.27.0"
            return rs
        }
        return req
    }

    mutating func encode(_ spans: [SynthSpan]) -> [UInt8] {
        encodeFast(spans)
    }

    static func serialize(_ req: OTLPExportTraceServiceRequest) -> [UInt8] {
        // Serialising a fully initialised proto3 message cannot fail (no required fields); an empty value
        // would be rejected as `empty` downstream and show up in tests.
        (try? req.serializedBytes()) ?? []
    }

    private mutating func collectorRecords(_ traces: [[SynthSpan]]) -> [PendingRecord] {
        traces.map { spans in
            let id = spans[0].facts.traceID
            let record = GeneratedRecord(
                key: Array(id.description.utf8), value: encode(spans), headers: [],
                timestampMilliseconds: Int64(configuration.recordTimeNanos / 1_000_000),
                expected: .accepted(spans: spans.count))
            return PendingRecord(record: record, spans: spans)
        }
    }

    private mutating func sdkRecords(_ traces: [[SynthSpan]]) -> [PendingRecord] {
        // Spans are exported when they end: sort by end, cut into chunks of 1–8, then interleave the
        // traces' chunks by their last end time. Roots end last, so they mostly arrive last.
        var chunks: [(end: UInt64, spans: [SynthSpan])] = []
        for trace in traces {
            let sorted = trace.sorted { ($0.facts.endTimeNanos, $0.spanID) < ($1.facts.endTimeNanos, $1.spanID) }
            var i = 0
            while i < sorted.count {
                let n = min(sorted.count - i, rng.int(1...configuration.sdkSpansPerRecordMax))
                let chunk = Array(sorted[i..<(i + n)])
                chunks.append((chunk.map(\.facts.endTimeNanos).max() ?? 0, chunk))
                i += n
            }
        }
        chunks.sort { $0.end < $1.end }
        var out: [PendingRecord] = []
        var i = 0
        while i < chunks.count {
            var spans = chunks[i].spans
            // Sometimes a batch holds spans of two traces (the header names the first).
            if i + 1 < chunks.count, rng.chance(0.1) {
                spans += chunks[i + 1].spans
                i += 1
            }
            i += 1
            let first = spans[0]
            var headers = [
                RecordHeader(
                    name: "traceparent",
                    value: Array("00-\(first.facts.traceID.description)-\(hex(first.spanID))-01".utf8))
            ]
            if !first.traceState.isEmpty {
                headers.append(RecordHeader(name: "tracestate", value: Array(first.traceState.utf8)))
            }
            let record = GeneratedRecord(
                key: nil, value: encode(spans), headers: headers,
                timestampMilliseconds: Int64(configuration.recordTimeNanos / 1_000_000),
                expected: .accepted(spans: spans.count))
            out.append(PendingRecord(record: record, spans: spans))
        }
        return out
    }

    // MARK: - Poison

    private mutating func makePoison() -> GeneratedRecord {
        var reasons: [RejectReason] = [.undecodable, .empty, .timestampOutOfRange, .badIDs]
        if configuration.tooLargeLimitBytes != nil { reasons.append(.tooLarge) }
        let reason = reasons[poisonCounter % reasons.count]
        let variant = poisonCounter / reasons.count
        poisonCounter += 1
        recordsGenerated += 1
        builder.recordRejected(reason)
        // A throwaway trace: its spans are not in the manifest.
        var spans = makeTrace()
        let value: [UInt8]
        switch reason {
        case .undecodable:
            let good = encode(spans)
            if variant % 2 == 0 || good.count < 4 {
                // Field 1 with wire type 7: invalid in every protobuf reader.
                value = [0x0F] + (0..<rng.int(8...64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                // Truncated inside the first resource_spans (its length prefix runs past the end).
                value = Array(good[..<min(good.count / 2, 40)])
            }
        case .empty:
            if variant % 2 == 0 {
                value = []
            } else {
                var req = request(spans)
                for i in req.resourceSpans.indices {
                    for j in req.resourceSpans[i].scopeSpans.indices { req.resourceSpans[i].scopeSpans[j].spans = [] }
                }
                value = Self.serialize(req)
            }
        case .timestampOutOfRange:
            let i = rng.below(spans.count)
            let shift: UInt64 = 36 * 86_400 * 1_000_000_000
            if variant % 2 == 0 {
                spans[i].facts.startTimeNanos -= shift
                spans[i].facts.endTimeNanos -= shift
            } else {
                spans[i].facts.startTimeNanos += 3 * 3_600 * 1_000_000_000 + shift / 1000
                spans[i].facts.endTimeNanos += 3 * 3_600 * 1_000_000_000 + shift / 1000
            }
            value = encode(spans)
        case .badIDs:
            var req = request(spans)
            let bad: [UInt8] = variant % 2 == 0 ? [UInt8](repeating: 0, count: 16) : Array(spans[0].facts.traceID.bytes[..<8])
            req.resourceSpans[0].scopeSpans[0].spans[0].traceID = Data(bad)
            value = Self.serialize(req)
        case .tooLarge:
            let limit = configuration.tooLargeLimitBytes ?? 0
            spans[0].attributes.append(Attribute("db.query.text", .string(String(repeating: "x", count: limit + 1))))
            value = encode(spans)
        }
        var headers: [RecordHeader] = []
        var key: [UInt8]? = nil
        let id = spans[0].facts.traceID
        if configuration.shape != .sdk {
            key = Array(id.description.utf8)
        } else {
            headers = [RecordHeader(name: "traceparent", value: Array("00-\(id.description)-\(hex(spans[0].spanID))-01".utf8))]
        }
        return GeneratedRecord(
            key: key, value: value, headers: headers,
            timestampMilliseconds: Int64(configuration.recordTimeNanos / 1_000_000), expected: .rejected(reason))
    }

    // MARK: - OTLP encoding

    static func keyValue(_ a: Attribute) -> OTLPKeyValue {
        var kv = OTLPKeyValue()
        kv.key = a.key
        switch a.value {
        case .string(let s): kv.value.stringValue = s
        case .bool(let b): kv.value.boolValue = b
        case .int(let i): kv.value.intValue = i
        case .double(let d): kv.value.doubleValue = d
        case .other: kv.value.bytesValue = Data()
        }
        return kv
    }

    static func otlpSpan(_ s: SynthSpan) -> OTLPSpan {
        var span = OTLPSpan()
        span.traceID = Data(s.facts.traceID.bytes)
        span.spanID = Data(bigEndianBytes(s.spanID))
        if s.parentSpanID != 0 { span.parentSpanID = Data(bigEndianBytes(s.parentSpanID)) }
        span.traceState = s.traceState
        span.name = s.facts.name
        span.kind = OTLPSpan.SpanKind(rawValue: s.facts.kind.rawValue) ?? .unspecified
        span.startTimeUnixNano = s.facts.startTimeNanos
        span.endTimeUnixNano = s.facts.endTimeNanos
        span.attributes = s.attributes.map(keyValue)
        span.flags = 0x101  // sampled + "has is_remote" bit
        if s.facts.isError {
            span.status.code = .error
            span.status.message = "upstream error"
        } else if s.facts.kind == .server {
            span.status.code = .ok
        }
        return span
    }
}

@inline(__always)
func bigEndianBytes(_ v: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: v >> UInt64(56 - 8 * $0)) }
}

/// 16 lowercase hex digits.
func hex(_ v: UInt64) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return String(unsafeUninitializedCapacity: 16) { buf in
        for i in 0..<16 { buf[i] = digits[Int((v >> UInt64(60 - 4 * i)) & 0xF)] }
        return 16
    }
}
