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
    ///
    /// Per trace it hashes the trace id a few times and the domain name once (when its root is seen);
    /// the sums run over domain positions, and only each domain's top trace is formatted as hex.
    mutating func add(_ deltas: [EpochDelta]) -> [DomainCost] {
        var traceCost: [TraceID: Int128] = [:]
        for d in deltas {
            for slice in d.slices {
                for (trace, root) in slice.roots {
                    if known.count >= Self.tracesMax { known.removeAll(keepingCapacity: true) }
                    known[trace] = root.transaction
                }
                traceCost.reserveCapacity(traceCost.count + slice.transactions.count)
                for (key, t) in slice.transactions { traceCost[key.traceID, default: 0] += Int128(t.costNanoUSD) }
            }
        }
        var sums = DomainSums()
        for (trace, cost) in traceCost {
            if let domain = known[trace] {
                sums.add(domain, trace, cost + (pending.removeValue(forKey: trace) ?? 0))
            } else {
                pending[trace, default: 0] += cost
            }
        }
        // Roots committed now whose earlier cost was pending but who have no cost in this epoch's rows.
        if !pending.isEmpty {
            for d in deltas {
                for slice in d.slices {
                    for (trace, root) in slice.roots where traceCost[trace] == nil {
                        if let p = pending.removeValue(forKey: trace) { sums.add(root.transaction, trace, p) }
                    }
                }
            }
        }
        if pending.count > Self.tracesMax {
            let total = pending.values.reduce(Int128(0), +)
            pending.removeAll(keepingCapacity: true)
            sums.add(Self.unattributed, nil, total)
        }
        return sums.costs
    }
}

/// One epoch's cost per domain, each with its most expensive trace; trace ids become hex only at the end.
private struct DomainSums {
    private var position: [String: Int] = [:]
    private var sums: [(domain: String, nanoUSD: Int128, top: TraceID?, topNanoUSD: Int128)] = []

    mutating func add(_ domain: String, _ trace: TraceID?, _ cost: Int128) {
        let i: Int
        if let known = position[domain] {
            i = known
        } else {
            i = sums.count
            position[domain] = i
            sums.append((domain, 0, nil, 0))
        }
        sums[i].nanoUSD += cost
        if let trace, cost > sums[i].topNanoUSD {
            sums[i].top = trace
            sums[i].topNanoUSD = cost
        }
    }

    var costs: [DomainCost] {
        sums.map { DomainCost(domain: $0.domain, nanoUSD: $0.nanoUSD, topTraceIDHex: $0.top?.description, topTraceNanoUSD: $0.topNanoUSD) }
    }
}
