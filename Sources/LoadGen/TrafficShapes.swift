// The knobs added for the benchmark matrix (issue #12): exact spans per trace, excluded-environment share,
// traces sent again later, and the `collector-split` record layout. Every knob draws from the generator's
// random stream only when it is set, so the default shapes stay byte-identical.

extension TrafficGenerator {
    /// Attributes per span for the configured shape.
    var attributesRange: ClosedRange<Int> {
        configuration.attributesPerSpan ?? (configuration.shape == .collectorSplit ? 4...7 : 10...20)
    }

    /// The exact span count of the next trace, or nil to let the call graph decide (at most 80).
    mutating func spansTarget() -> Int? {
        if let n = configuration.spansPerTrace { return n }
        return configuration.shape == .collectorSplit ? rng.int(40...60) : nil
    }

    /// The environment of the next trace: the model's weights, or, with an excluded share, first
    /// excluded-or-not by that share and then by weight within the chosen side.
    mutating func traceEnvironment() -> Int {
        let share = configuration.excludedTraceFraction ?? (configuration.shape == .collectorSplit ? 0.2 : nil)
        guard let share else { return weightedEnvironment() }
        let excluded = pricer.catalog.excludedEnvironments
        let wantExcluded = rng.chance(share)
        let side = TrafficModel.environments.indices.filter { i in
            (TrafficModel.environments[i].name.map { excluded.contains($0) } ?? false) == wantExcluded
        }
        guard !side.isEmpty else { return weightedEnvironment() }
        var x = rng.below(side.reduce(0) { $0 + TrafficModel.environments[$1].weight })
        for i in side {
            if x < TrafficModel.environments[i].weight { return i }
            x -= TrafficModel.environments[i].weight
        }
        return side[0]
    }

    /// Adds internal spans (60 % with a database call inside) under random spans of the trace, in their
    /// services, until the trace holds exactly `target` spans.
    mutating func pad(_ t: inout TraceContextState, to target: Int) {
        while t.spans.count < target {
            let host = t.spans[rng.below(t.spans.count)]
            let service = host.resource.service
            let start = host.facts.startTimeNanos
            let duration = host.facts.endTimeNanos > start ? host.facts.endTimeNanos - start : 1
            let (s, dur) = sub(start, duration)
            let namespace = TrafficModel.services[service].namespace
            let id = addSpan(
                &t, service: service, name: rng.pick(TrafficModel.internalNames), kind: .internal,
                parent: host.spanID, start: s, duration: dur
            ) { attrs, _, _ in
                attrs.append(Attribute("code.function", .string("handle")))
                attrs.append(Attribute("code.namespace", .string("app.\(namespace)")))
            }
            if t.spans.count < target, rng.chance(0.6) {
                let (s2, dur2) = sub(s, dur)
                dbCall(&t, service: service, parent: id, start: s2, duration: dur2)
            }
        }
    }

    /// With probability `repeatFraction` keeps `trace` for a second arrival; returns the second arrival of
    /// the oldest kept trace once more than `repeatDelayTraces` wait (empty otherwise).
    mutating func scheduleRepeat(of trace: [SynthSpan]) -> [[SynthSpan]] {
        if rng.chance(configuration.repeatFraction), trace.contains(where: { !$0.facts.isRoot }) {
            pendingRepeats.append(trace)
        }
        guard pendingRepeats.count > Self.repeatDelayTraces else { return [] }
        return [secondArrival(of: pendingRepeats.removeFirst())]
    }

    /// Every non-root span of `trace` again with a new span id; a parent sent again is remapped to its new
    /// id, the root keeps its id (so the new spans hang under the trace's existing root).
    mutating func secondArrival(of trace: [SynthSpan]) -> [SynthSpan] {
        var newIDs: [UInt64: UInt64] = [:]
        for s in trace where !s.facts.isRoot { newIDs[s.spanID] = newSpanID() }
        return trace.compactMap { s in
            guard let id = newIDs[s.spanID] else { return nil }
            var copy = s
            copy.spanID = id
            copy.parentSpanID = newIDs[s.parentSpanID] ?? s.parentSpanID
            return copy
        }
    }

    /// One record per chunk of 4–5 spans of one service (in order of the service's first span), key =
    /// the trace id.
    mutating func collectorSplitRecords(_ traces: [[SynthSpan]]) -> [PendingRecord] {
        var out: [PendingRecord] = []
        for spans in traces where !spans.isEmpty {
            var order: [ResourceKey] = []
            var groups: [ResourceKey: [SynthSpan]] = [:]
            for s in spans {
                if groups[s.resource] == nil { order.append(s.resource) }
                groups[s.resource, default: []].append(s)
            }
            let key = Array(spans[0].facts.traceID.description.utf8)
            for r in order {
                let group = groups[r] ?? []
                var i = 0
                while i < group.count {
                    let n = min(group.count - i, rng.int(4...5))
                    let chunk = Array(group[i..<(i + n)])
                    i += n
                    let record = GeneratedRecord(
                        key: key, value: encode(chunk), headers: [],
                        timestampMilliseconds: Int64(configuration.recordTimeNanos / 1_000_000),
                        expected: .accepted(spans: chunk.count))
                    out.append(PendingRecord(record: record, spans: chunk))
                }
            }
        }
        return out
    }
}
