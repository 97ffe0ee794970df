import Foundation

/// Text rendering of the series this module draws itself (the cost-by-domain counter), in Prometheus
/// 0.0.4 or OpenMetrics 1.0 syntax. Pure functions.
enum ExpositionText {
    static let costHelp =
        "Cost committed to the ledger in nano-USD by domain (root span name); the top domains by first spend keep their label, the rest are summed under the domain other; credits are not subtracted."

    /// The `traceledger_cost_nusd_total` family. In OpenMetrics the family is named without `_total` and
    /// each series carries its exemplar `# {trace_id="…"} <nano-USD>`, when it has one.
    static func costFamily(_ series: [DomainCostLedger.Series], name: String, openMetrics: Bool) -> String {
        let family = openMetrics && name.hasSuffix("_total") ? String(name.dropLast("_total".count)) : name
        var out = "# HELP \(family) \(escapeHelp(costHelp))\n# TYPE \(family) counter\n"
        for s in series {
            out += "\(name){domain=\"\(escapeLabelValue(s.label))\"} \(s.totalNanoUSD)"
            if openMetrics, let e = s.exemplar {
                out += " # {trace_id=\"\(escapeLabelValue(e.traceIDHex))\"} \(e.nanoUSD)"
            }
            out += "\n"
        }
        return out
    }

    /// Escapes `\`, `"` and line feed, as both formats require in label values.
    static func escapeLabelValue(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// Escapes `\` and line feed in HELP text.
    static func escapeHelp(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// Converts the Prometheus 0.0.4 text swift-prometheus emits into OpenMetrics 1.0 text (without the
/// final `# EOF`, which the caller appends after its own families): a counter family is named without
/// its `_total` suffix in `# HELP`/`# TYPE` and its samples end in `_total`; everything else (gauges,
/// histograms, label syntax) is the same in both formats.
enum OpenMetricsText {
    static func convert(prometheusText text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 256)
        var pendingHelp: (name: Substring, text: Substring)?
        // The current family: its name in the input and whether its samples need `_total` appended.
        var current: (name: Substring, addTotal: Bool)?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst("# HELP ".count)
                let name = rest.prefix { $0 != " " }
                pendingHelp = (name, rest.dropFirst(name.count).drop { $0 == " " })
                continue
            }
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst("# TYPE ".count).split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let (name, type) = (parts[0], parts[1])
                var family = name
                var addTotal = false
                if type == "counter" {
                    if name.hasSuffix("_total") {
                        family = name.dropLast("_total".count)
                    } else {
                        addTotal = true
                    }
                }
                if let h = pendingHelp, h.name == name {
                    out += "# HELP \(family) \(h.text)\n"
                }
                pendingHelp = nil
                out += "# TYPE \(family) \(type)\n"
                current = (name, addTotal)
                continue
            }
            if line.hasPrefix("#") { continue }
            if let c = current, c.addTotal, line.hasPrefix(c.name) {
                let after = line.dropFirst(c.name.count)
                if after.first == "{" || after.first == " " {
                    out += "\(c.name)_total\(after)\n"
                    continue
                }
            }
            out += line
            out += "\n"
        }
        return out
    }
}
