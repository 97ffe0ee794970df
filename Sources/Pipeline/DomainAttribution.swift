import DurationUnits
import Aggregation
import CoreMetrics
import Kafka
import Synchronization
import Telemetry
import TraceContext

/// Turns committed epochs into cost by domain (root span name) for `traceledger_cost_nusd_total`.
///
/// A trace's cost goes to its domain once its root has been committed (in this epoch or an earlier one
/// this process saw); until then it waits in `pending`. Both maps are bounded (`tracesMax`): when
/// `pending` is full its cost goes to `(unattributed)` (as the ledger's grace sweep would, sooner);
/// when `known` is full it is forgotten (later spans of those traces then wait as pending). Traces
/// whose root another worker committed stay pending here: the exact figures are `domain_hourly`'s.
struct DomainAttribution {
    static let tracesMax = 100_000
    static let unattributed = "(unattributed)"
    private var known: [TraceID: String] = [:]
    private var pending: [TraceID: Int128] = [:]

    /// The epoch's cost by domain, with each domain's most expensive trace in the epoch.
    mutating func add(_ deltas: [EpochDelta]) -> [DomainCost] {
        var traceCost: [TraceID: Int128] = [:]
        for d in deltas {
            for slice in d.slices {
                for (trace, root) in slice.roots {
                    if known.count >= Self.tracesMax { known.removeAll(keepingCapacity: true) }
                    known[trace] = root.transaction
                }
                for (key, t) in slice.transactions { traceCost[key.traceID, default: 0] += Int128(t.costNanoUSD) }
            }
        }
        var byDomain: [String: DomainCost] = [:]
        func add(_ domain: String, _ trace: TraceID?, _ cost: Int128) {
            var c = byDomain[domain] ?? DomainCost(domain: domain, nanoUSD: 0)
            c.nanoUSD += cost
            if let trace, cost > c.topTraceNanoUSD {
                c.topTraceIDHex = trace.description
                c.topTraceNanoUSD = cost
            }
            byDomain[domain] = c
        }
        for (trace, cost) in traceCost {
            if let domain = known[trace] {
                add(domain, trace, cost + (pending.removeValue(forKey: trace) ?? 0))
            } else {
                pending[trace, default: 0] += cost
            }
        }
        // Roots committed now whose earlier cost was pending but who have no cost in this epoch's rows.
        for d in deltas {
            for slice in d.slices {
                for (trace, root) in slice.roots where traceCost[trace] == nil {
                    if let p = pending.removeValue(forKey: trace) { add(root.transaction, trace, p) }
                }
            }
        }
        if pending.count > Self.tracesMax {
            let total = pending.values.reduce(Int128(0), +)
            pending.removeAll(keepingCapacity: true)
            add(Self.unattributed, nil, total)
        }
        return Array(byDomain.values)
    }
}
