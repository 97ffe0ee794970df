// Module LoadGen (docs/architecture.md): synthetic OTLP traffic, its expected-totals manifest, and the
// ledger-vs-manifest comparison. No I/O and no dependency on Pricing, SpanDecoding, Aggregation, Kafka or
// Ledger: the manifest is priced by `ReferencePricer`, LoadGen's own simple implementation of
// docs/pricing.md, so that a load test checks the production pricer against independent code.
//
// How the CLI uses it:
//
//     // traceledger loadgen
//     let catalog = try ReferenceCatalog(contentsOf: URL(fileURLWithPath: "config/pricing.yaml"))
//     var config = TrafficConfiguration(seed: 42, shape: .collector, recordTimeNanos: nowNanos)
//     config.poisonFraction = 0.01
//     var generator = try TrafficGenerator(configuration: config, pricer: ReferencePricer(catalog: catalog))
//     while generator.spansGenerated < target {
//         for record in try generator.generate(traces: 1_000) {
//             // produce record.key / record.value / record.headers, timestamp record.timestampMilliseconds
//         }
//     }
//     try generator.manifest.jsonData().write(to: manifestURL)
//
//     // traceledger verify --manifest FILE
//     let manifest = try Manifest(jsonData: Data(contentsOf: manifestURL))
//     let snapshot = LedgerSnapshot(traces: …, domains: …, sessions: …, models: …, rejectedRecords: …)
//     let differences = Verifier.compare(manifest, snapshot)   // empty = exact; else print and exit 1
//
// The ledger must be read after the pipeline has consumed every produced record (e.g. wait until
// Σ rejected_records + accepted records = manifest.totals.records, or until lag is 0).
