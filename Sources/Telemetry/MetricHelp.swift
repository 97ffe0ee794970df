import Foundation

/// `# HELP` texts of traceledger's series (the family names as swift-metrics labels them), one line each,
/// without `"` or `\` so that they are valid as they are in both Prometheus text and OpenMetrics.
/// docs/metrics.md says the same at more length.
public enum MetricHelp {
    public static let traceledger: [String: String] = [
        "traceledger_records_total": "Kafka records committed, by outcome: counted into the ledger or rejected.",
        "traceledger_dead_letters_total": "Rejected records (rejected_records rows and dead-letter copies) by reason code.",
        "traceledger_dead_letters_refused_total": "Dead-letter copies Kafka refused permanently.",
        "traceledger_spans_total": "Spans of committed records, by outcome: counted or excluded by environment.",
        "traceledger_excluded_spans_total": "Excluded spans by environment (first 20 names, then other).",
        "traceledger_span_anomalies_total": "Counted spans with an anomaly, by kind.",
        "traceledger_records_bad_traceparent_total": "Counted records whose traceparent header was invalid.",
        "traceledger_spans_with_session_total": "Counted spans carrying a session id.",
        "traceledger_sampled_spans_total": "Sum of adjusted counts of counted spans with an ot=th sampling threshold.",
        "traceledger_epochs_total": "Epoch writes by result.",
        "traceledger_fencing_rejections_total": "Epoch transactions rolled back by the fencing check.",
        "traceledger_epoch_write_seconds": "Duration of a committed epoch's PostgreSQL transaction.",
        "traceledger_epoch_spans": "Spans per committed epoch.",
        "traceledger_inflight_epochs": "Sealed epochs not yet committed.",
        "traceledger_paused": "1 while the partitions are paused for backpressure.",
        "traceledger_ready": "1 while the worker is ready.",
        "traceledger_buffered_bytes": "Bytes of polled records the shards hold.",
        "traceledger_consumer_lag": "Records between the consumer position and the high watermark, per assigned partition.",
        "traceledger_assigned_partitions": "Partitions assigned to this worker.",
        "traceledger_rebalances_total": "Rebalance events served, by kind.",
        "traceledger_retention_gap_records_total": "Records Kafka deleted before they were read.",
        "traceledger_catalog_version": "Version of the price catalog in force.",
        "traceledger_catalog_reload_failures_total": "Price catalog reloads refused (the last good catalog stays).",
        "traceledger_fetcher_nudges_total": "Times the ingest thread woke librdkafka's fetcher for partitions with records left after 200 ms without records.",
    ]

    /// `text` with a `# HELP` line before each `# TYPE` line whose family has a text in `help` and no
    /// `# HELP` line yet.
    static func adding(_ help: [String: String], to text: String) -> String {
        guard !help.isEmpty else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + help.count * 80)
        var lastHelp: Substring?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# HELP ") {
                lastHelp = line.dropFirst("# HELP ".count).prefix { $0 != " " }
            } else if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst("# TYPE ".count).prefix { $0 != " " }
                if lastHelp != name, let h = help[String(name)] {
                    out += "# HELP \(name) \(h.replacingOccurrences(of: "\n", with: " "))\n"
                }
            }
            out += line
            out += "\n"
        }
        // `split` keeps a final empty piece for the trailing newline; drop the extra one added for it.
        if text.hasSuffix("\n") || text.isEmpty { out.removeLast() }
        return out
    }
}
