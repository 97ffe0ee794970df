import Metrics
import PropertyBased
import Telemetry
import Testing

/// A populated exporter: counters with labels, a gauge, a timer (duration histogram), a value
/// histogram, and cost by domain with exemplars.
func populatedExporter() -> MetricsExporter {
    let exporter = MetricsExporter(domainLabelBudget: 3)
    let f = exporter.factory
    Counter(label: "traceledger_records_total", dimensions: [("outcome", "counted")], factory: f).increment(by: 7)
    Counter(label: "traceledger_records_total", dimensions: [("outcome", "rejected")], factory: f).increment(by: 2)
    Counter(label: "plain_events", dimensions: [], factory: f).increment(by: 3)
    Gauge(label: "traceledger_paused", dimensions: [], factory: f).record(1)
    Timer(label: "traceledger_epoch_write_seconds", dimensions: [], factory: f).recordMilliseconds(12)
    Recorder(label: "traceledger_epoch_spans", dimensions: [], aggregate: true, factory: f).record(1234)
    exporter.recordDomainCost([
        DomainCost(domain: "POST /checkout", nanoUSD: 4_500_000, topTraceIDHex: String(repeating: "ab", count: 16), topTraceNanoUSD: 4_000_000),
        DomainCost(domain: "GET \"quoted\" \\ path\nline", nanoUSD: 10, topTraceIDHex: String(repeating: "01", count: 16), topTraceNanoUSD: 10),
    ])
    return exporter
}

@Suite("metrics exporter: exposition formats")
struct MetricsExporterFormatTests {
    @Test("Prometheus text parses strictly, with every series and no exemplar or # EOF")
    func prometheusTextParses() throws {
        let text = populatedExporter().render(openMetrics: false)
        let e = try ParsedExposition(parsing: text, openMetrics: false)
        #expect(e.families["traceledger_records_total"]?.type == "counter")
        #expect(e.value("traceledger_records_total", ["outcome": "counted"]) == 7)
        #expect(e.value("traceledger_records_total", ["outcome": "rejected"]) == 2)
        #expect(e.value("plain_events") == 3)
        #expect(e.value("traceledger_paused") == 1)
        #expect(e.families["traceledger_epoch_write_seconds"]?.type == "histogram")
        #expect(e.value("traceledger_epoch_write_seconds_count") == 1)
        #expect(e.value("traceledger_epoch_spans_sum") == 1234)
        #expect(e.value("traceledger_cost_nusd_total", ["domain": "POST /checkout"]) == 4_500_000)
        // The escaped label value round-trips.
        #expect(e.value("traceledger_cost_nusd_total", ["domain": "GET \"quoted\" \\ path\nline"]) == 10)
        #expect(e.samples.allSatisfy { $0.exemplar == nil })
        #expect(!text.contains("# EOF"))
    }

    @Test("OpenMetrics parses strictly: counter families without _total, samples with it, exemplars, # EOF last")
    func openMetricsParses() throws {
        let text = populatedExporter().render(openMetrics: true)
        let e = try ParsedExposition(parsing: text, openMetrics: true)
        #expect(e.families["traceledger_records"]?.type == "counter")
        #expect(e.families["traceledger_records_total"] == nil)
        #expect(e.value("traceledger_records_total", ["outcome": "counted"]) == 7)
        // A counter registered without `_total` gets it on its samples.
        #expect(e.families["plain_events"]?.type == "counter")
        #expect(e.value("plain_events_total") == 3)
        #expect(e.families["traceledger_cost_nusd"]?.type == "counter")
        let checkout = e.samples(named: "traceledger_cost_nusd_total").first { $0.labels["domain"] == "POST /checkout" }
        #expect(checkout?.value == 4_500_000)
        #expect(checkout?.exemplar == ParsedExposition.Exemplar(labels: ["trace_id": String(repeating: "ab", count: 16)], value: 4_000_000))
        #expect(text.hasSuffix("# EOF\n"))
    }

    @Test("a strict parser refuses what a scraper refuses (so the format tests can fail)")
    func parserRefusesBadText() {
        let bad: [(String, Bool)] = [
            ("# TYPE a counter\na 1 # {trace_id=\"x\"} 1\n", false),  // exemplar in Prometheus text
            ("# TYPE a counter\na_total 1\n", true),  // no # EOF
            ("# TYPE a_total counter\na_total 1\n# EOF\n", true),  // OpenMetrics family named _total
            ("# TYPE a counter\na{x=\"1} 1\n", false),  // unterminated label value
            ("# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na 2\n", false),  // sample outside its family
            ("b 1\n", false),  // no TYPE
            ("# TYPE a gauge\na one\n", false),  // bad value
            ("# TYPE a gauge\na 1\na 2\n", false),  // duplicate series
        ]
        for (text, om) in bad {
            #expect(throws: ParsedExposition.ParseError.self, "\(text)") { try ParsedExposition(parsing: text, openMetrics: om) }
        }
    }

    @Test("traceledger families carry their HELP text in both formats")
    func helpTexts() throws {
        let exporter = populatedExporter()
        let text = try ParsedExposition(parsing: exporter.render(openMetrics: false), openMetrics: false)
        let om = try ParsedExposition(parsing: exporter.render(openMetrics: true), openMetrics: true)
        #expect(text.families["traceledger_records_total"]?.help == MetricHelp.traceledger["traceledger_records_total"])
        #expect(om.families["traceledger_records"]?.help == MetricHelp.traceledger["traceledger_records_total"])
        #expect(om.families["traceledger_epoch_write_seconds"]?.help != nil)
        #expect(text.families["plain_events"]?.help == nil)
        for (name, help) in MetricHelp.traceledger {
            #expect(!help.contains("\"") && !help.contains("\\") && !help.contains("\n"), "\(name)")
        }
    }

    @Test("exemplars appear only in OpenMetrics; the Prometheus rendering of the same state has none")
    func exemplarsOnlyInOpenMetrics() throws {
        let exporter = populatedExporter()
        let om = try ParsedExposition(parsing: exporter.render(openMetrics: true), openMetrics: true)
        let prom = try ParsedExposition(parsing: exporter.render(openMetrics: false), openMetrics: false)
        #expect(om.samples(named: "traceledger_cost_nusd_total").filter { $0.exemplar != nil }.count == 2)
        #expect(prom.samples.filter { $0.exemplar != nil }.isEmpty)
    }
}

@Suite("metrics exporter: cost by domain under a label budget")
struct DomainCostBudgetTests {
    @Test("labels go to the first domains by spend and are never reassigned; later domains sum under other")
    func labelsAreStable() throws {
        let exporter = MetricsExporter(domainLabelBudget: 2)
        exporter.recordDomainCost([
            DomainCost(domain: "a", nanoUSD: 5), DomainCost(domain: "b", nanoUSD: 50), DomainCost(domain: "c", nanoUSD: 1),
        ])
        // "c" arrives third in spend order: over the budget.
        #expect(exporter.domainLabels == ["b", "a", "other"])
        exporter.recordDomainCost([DomainCost(domain: "d", nanoUSD: 1_000_000), DomainCost(domain: "a", nanoUSD: 1)])
        let e = try ParsedExposition(parsing: exporter.render(openMetrics: false), openMetrics: false)
        #expect(e.value("traceledger_cost_nusd_total", ["domain": "a"]) == 6)
        #expect(e.value("traceledger_cost_nusd_total", ["domain": "b"]) == 50)
        #expect(e.value("traceledger_cost_nusd_total", ["domain": "other"]) == 1_000_001)
        #expect(e.samples(named: "traceledger_cost_nusd_total").count == 3)
    }

    @Test("a net credit of a domain in an epoch is not subtracted (the counter never decreases)")
    func creditsDoNotDecrease() throws {
        let exporter = MetricsExporter(domainLabelBudget: 2)
        exporter.recordDomainCost([DomainCost(domain: "a", nanoUSD: 100)])
        exporter.recordDomainCost([DomainCost(domain: "a", nanoUSD: -40)])
        let e = try ParsedExposition(parsing: exporter.render(openMetrics: false), openMetrics: false)
        #expect(e.value("traceledger_cost_nusd_total", ["domain": "a"]) == 100)
    }

    @Test("the exemplar is the most expensive recent trace of the domain")
    func exemplarIsMostExpensive() throws {
        let exporter = MetricsExporter(domainLabelBudget: 2)
        let (t1, t2, t3) = (String(repeating: "1", count: 32), String(repeating: "2", count: 32), String(repeating: "3", count: 32))
        exporter.recordDomainCost([DomainCost(domain: "a", nanoUSD: 10, topTraceIDHex: t1, topTraceNanoUSD: 7)])
        exporter.recordDomainCost([DomainCost(domain: "a", nanoUSD: 10, topTraceIDHex: t2, topTraceNanoUSD: 9)])
        exporter.recordDomainCost([DomainCost(domain: "a", nanoUSD: 10, topTraceIDHex: t3, topTraceNanoUSD: 3)])
        let e = try ParsedExposition(parsing: exporter.render(openMetrics: true), openMetrics: true)
        let a = e.samples(named: "traceledger_cost_nusd_total").first { $0.labels["domain"] == "a" }
        #expect(a?.exemplar == ParsedExposition.Exemplar(labels: ["trace_id": t2], value: 9))
    }

    @Test("property: any epochs of any domains never expose more than budget + 1 labels; each series only grows; the sum is Σ positive epoch costs")
    func budgetAndMonotonicity() async {
        await propertyCheck(
            count: 60,
            input: Gen.int(in: 1...8),
            Gen.int(in: 0...400).array(of: 1...12).array(of: 1...25),
            Gen.int(in: -50...1_000).array(of: 12)
        ) { budget, epochs, costTable in
            let exporter = MetricsExporter(domainLabelBudget: budget)
            var previous: [String: Double] = [:]
            var expectedTotal: Int128 = 0
            for domains in epochs {
                // One entry per domain per epoch (as the pipeline sends), cost from the table.
                var costs: [String: Int128] = [:]
                for (i, d) in domains.enumerated() { costs["domain-\(d)", default: 0] += Int128(costTable[i % costTable.count]) }
                exporter.recordDomainCost(costs.map { DomainCost(domain: $0.key, nanoUSD: $0.value) })
                expectedTotal += costs.values.filter { $0 > 0 }.reduce(0, +)
                guard let e = try? ParsedExposition(parsing: exporter.render(openMetrics: true), openMetrics: true) else {
                    Issue.record("exposition did not parse")
                    return
                }
                let series = e.samples(named: "traceledger_cost_nusd_total")
                #expect(series.count <= budget + 1)
                #expect(exporter.domainLabels.count <= budget + 1)
                var now: [String: Double] = [:]
                for s in series { now[s.labels["domain"] ?? ""] = s.value }
                for (label, old) in previous { #expect((now[label] ?? -1) >= old, "series \(label) went down or vanished") }
                previous = now
                #expect(series.reduce(0) { $0 + $1.value } == Double(expectedTotal))
            }
        }
    }
}
