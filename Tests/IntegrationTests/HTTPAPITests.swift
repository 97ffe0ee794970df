import DevHarness
import Foundation
import HTTPServer
import Kafka
import Ledger
import LoadGen
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import TestSupport

/// A readiness source the test steers (stands in for the Pipeline's status; not a database or Kafka mock).
final class SteeredReadiness: ReadinessSource {
    private let state = Mutex<(reason: String?, paused: Bool, assigned: Int?)>((nil, false, nil))
    var notReadyReason: String? { state.withLock { $0.reason } }
    var isPaused: Bool { state.withLock { $0.paused } }
    var assignedPartitions: Int? { state.withLock { $0.assigned } }
    func set(reason: String?, paused: Bool, assigned: Int? = nil) { state.withLock { $0 = (reason, paused, assigned) } }
}

/// An HTTP server on a free port over `schema`, run in its own ServiceGroup until `stop()`.
struct RunningHTTP {
    let service: HTTPService
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let base: String

    static func start(
        schema: String, readiness: any ReadinessSource, readyMaxPause: Duration = .seconds(60),
        metrics: @escaping @Sendable (Bool) -> String = { _ in "" }, logger: Logger
    ) async throws -> RunningHTTP {
        var c = HTTPServiceConfiguration()
        c.host = "127.0.0.1"
        c.port = 0
        c.readConnections = 2
        c.readyMaxPause = readyMaxPause
        c.probeInterval = .milliseconds(200)
        c.assignmentGrace = .zero
        let service = HTTPService(
            configuration: c, conninfo: try databaseURL(), schema: try SchemaName(schema), readiness: readiness,
            metricsText: metrics, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: service)], logger: logger))
        let task = Task { try await group.run() }
        guard let port = await service.waitUntilListening() else {
            await group.triggerGracefulShutdown()
            throw HTTPTestError(description: "the HTTP server did not start listening")
        }
        return RunningHTTP(service: service, group: group, task: task, base: "http://127.0.0.1:\(port)")
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

@Suite("HTTP API (real worker + Postgres + mock Kafka + HTTP client)", .serialized)
struct HTTPAPITests {
    static let metricsSample = "# TYPE traceledger_ready gauge\ntraceledger_ready 1\n"
    static let openMetricsSample = "# TYPE traceledger_ready gauge\ntraceledger_ready 1\n# EOF\n"

    @Test("every endpoint answers what the load's manifest says; bad input 400, unknown 404, big body 413; precommit flips to not allowed as the session spends")
    func endpointsAgainstTheManifest() async throws {
        var options = LocalRun.Options(load: LoadPlan(spans: 30_000, shape: .collector, poisonFraction: 0.01, seed: 19))
        options.schema = uniqueSchemaName("it_http")
        options.group = "it-\(options.schema)"
        options.partitions = 4
        options.pricingFile = shippedPricingFile.path
        options.flushInterval = .milliseconds(200)
        var logger = Logger(label: "it.http")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let (schema, topic, log) = (options.schema, options.load.topic, logger)
        let r = try await LocalRun(options: options, conninfo: try databaseURL(), logger: logger).run(
            whileKept: { result, bootstrap in
                do {
                    let readiness = SteeredReadiness()
                    let http = try await RunningHTTP.start(
                        schema: schema, readiness: readiness, readyMaxPause: .milliseconds(300),
                        metrics: { $0 ? Self.openMetricsSample : Self.metricsSample }, logger: log)
                    do {
                        try await Self.checkProbes(http.base, readiness: readiness)
                        try await Self.checkTransactions(http.base, result.manifest)
                        try await Self.checkSessions(http.base, result.manifest)
                        try await Self.checkDomains(http.base, result.manifest)
                        try await Self.checkModels(http.base, result.manifest)
                        try await Self.checkRefusals(http.base)
                        try await Self.checkPrecommitAsSpendGrows(http.base, bootstrap: bootstrap, topic: topic, logger: log)
                    } catch {
                        Issue.record(error)
                    }
                    try await http.stop()
                } catch {
                    Issue.record(error)
                }
            })
        #expect(r.completed)
        #expect(r.differences.isEmpty, "\(r.differences.prefix(5).map(\.description))")
    }

    // MARK: probes and metrics

    static func checkProbes(_ base: String, readiness: SteeredReadiness) async throws {
        let health = try await HTTPTestClient.get(base + "/healthz")
        #expect(health.status == 200)
        #expect(health.string("status") == "ok")

        // Ready once the first database probe has run.
        #expect(try await eventually { try await HTTPTestClient.get(base + "/readyz").status == 200 })
        #expect(try await HTTPTestClient.get(base + "/readyz").json["ready"] as? Bool == true)

        readiness.set(reason: "database unavailable: test", paused: false)
        let down = try await HTTPTestClient.get(base + "/readyz")
        #expect(down.status == 503)
        #expect(down.json["ready"] as? Bool == false)
        #expect(down.string("reason") == "database unavailable: test")

        // Paused longer than ready_max_pause (300 ms) → not ready; unpaused → ready again.
        readiness.set(reason: nil, paused: true)
        #expect(try await HTTPTestClient.get(base + "/readyz").status == 200)  // just paused: still ready
        #expect(try await eventually { try await HTTPTestClient.get(base + "/readyz").status == 503 })
        #expect(try await HTTPTestClient.get(base + "/readyz").string("reason")?.contains("paused") == true)
        readiness.set(reason: nil, paused: false)
        #expect(try await HTTPTestClient.get(base + "/readyz").status == 200)

        // No partitions assigned (past the assignment grace) → not ready; some assigned → ready.
        readiness.set(reason: nil, paused: false, assigned: 0)
        let unassigned = try await HTTPTestClient.get(base + "/readyz")
        #expect(unassigned.status == 503)
        #expect(unassigned.string("reason") == "no partitions assigned")
        readiness.set(reason: nil, paused: false, assigned: 3)
        #expect(try await HTTPTestClient.get(base + "/readyz").status == 200)

        let prometheus = try await HTTPTestClient.get(base + "/metrics")
        #expect(prometheus.status == 200)
        #expect(prometheus.contentType.hasPrefix("text/plain; version=0.0.4"))
        #expect(prometheus.text == metricsSample)
        let open = try await HTTPTestClient.get(
            base + "/metrics", headers: ["Accept": "application/openmetrics-text; version=1.0.0,text/plain;q=0.5"])
        #expect(open.contentType.hasPrefix("application/openmetrics-text; version=1.0.0"))
        #expect(open.text == openMetricsSample)
    }

    // MARK: reads against the manifest

    static func checkTransactions(_ base: String, _ manifest: Manifest) async throws {
        let ids = manifest.traces.filter { $0.value.transaction != nil }.keys.sorted().prefix(8)
        #expect(ids.count == 8)
        for (i, id) in ids.enumerated() {
            guard let expected = manifest.traces[id] else { continue }
            let asked = i == 0 ? id.uppercased() : id  // trace ids are case-insensitive
            let t = try await HTTPTestClient.get(base + "/v1/transactions/\(asked)")
            #expect(t.status == 200, "\(t.text)")
            #expect(t.string("trace_id") == id)
            #expect(t.int("cost_nusd") == expected.costNanoUSD)
            #expect(t.string("cost_usd") == independentUSD(expected.costNanoUSD))
            #expect(t.int("span_count") == expected.spanCount)
            #expect(t.int("error_count") == expected.errorCount)
            #expect(t.int("unpriced_count") == expected.unpricedCount)
            #expect(t.int("input_tokens") == expected.inputTokens)
            #expect(t.int("output_tokens") == expected.outputTokens)
            #expect(t.string("transaction") == expected.transaction)
            #expect(t.string("service") == expected.service)
            // The split adds up to the cost (each part is a sum of exact per-span parts only when no
            // span was priced upstream, so only check that every part is present and an integer).
            for part in ["compute_nusd", "serverless_nusd", "llm_nusd"] { #expect(t.int(part) != nil) }
            #expect(t.string("first_start")?.hasSuffix("Z") == true)
            #expect(t.string("last_end")?.hasSuffix("Z") == true)
        }
    }

    static func checkSessions(_ base: String, _ manifest: Manifest) async throws {
        let byCost = manifest.sessions.sorted { ($0.value.costNanoUSD, $0.key) > ($1.value.costNanoUSD, $1.key) }
        var picks = Array(byCost.prefix(3).map(\.key))
        let parents = Set(manifest.sessions.values.compactMap(\.parentSession))
        if let parent = parents.sorted().first(where: { manifest.sessions[$0] != nil }) { picks.append(parent) }
        if let child = manifest.sessions.first(where: { $0.value.parentSession != nil })?.key { picks.append(child) }
        #expect(picks.count >= 3)
        for id in picks {
            guard let expected = manifest.sessions[id] else { continue }
            let encoded = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id
            let s = try await HTTPTestClient.get(base + "/v1/sessions/\(encoded)")
            #expect(s.status == 200, "\(s.text)")
            #expect(s.string("session_id") == id)
            #expect(s.int("cost_nusd") == expected.costNanoUSD)
            #expect(s.string("cost_usd") == independentUSD(expected.costNanoUSD))
            #expect(s.int("input_tokens") == expected.inputTokens)
            #expect(s.int("output_tokens") == expected.outputTokens)
            #expect(s.int("span_count") == expected.spanCount)
            #expect((s.int("depth_max") ?? 0) == expected.depthMax)
            #expect(s.int("agent_count") == expected.agentCount)
            #expect(s.int("ceiling_hits") == expected.ceilingHits)
            #expect(s.string("parent_session") == expected.parentSession)
            let children = manifest.sessions.filter { $0.value.parentSession == id }.keys.sorted()
            #expect((s.json["child_sessions"] as? [String]) == children)
        }
    }

    static func checkDomains(_ base: String, _ manifest: Manifest) async throws {
        for url in [base + "/v1/domains?window=24h", base + "/v1/domains"] {
            let d = try await HTTPTestClient.get(url)
            #expect(d.status == 200, "\(d.text)")
            #expect(d.string("window") == "24h")
            #expect(d.string("as_of")?.hasSuffix("Z") == true)
            let rows = (d.json["domains"] as? [[String: Any]]) ?? []
            var got: [String: (cost: Int64?, spans: Int64?, traces: Int64?)] = [:]
            for row in rows {
                guard let name = row["transaction"] as? String else { continue }
                got[name] = (HTTPReply.int(row["cost_nusd"]), HTTPReply.int(row["span_count"]), HTTPReply.int(row["trace_count"]))
                #expect(row["budget_usd"] is NSNull)
                #expect(row["budget_nusd"] is NSNull)
                #expect(row["utilization"] is NSNull)
            }
            // Named domains exactly; `(unattributed)` + pending = the manifest's `(unattributed)`.
            for (name, expected) in manifest.domains where name != Verifier.unattributedDomain {
                #expect(got[name]?.cost == expected.costNanoUSD, "\(name)")
                #expect(got[name]?.spans == expected.spanCount, "\(name)")
                #expect(got[name]?.traces == expected.traceCount, "\(name)")
            }
            let pending = d.int("pending_nusd") ?? -1
            let unattributed = got[Verifier.unattributedDomain]?.cost ?? 0
            #expect(unattributed + pending == manifest.domains[Verifier.unattributedDomain]?.costNanoUSD ?? 0)
            #expect(got.keys.filter { $0 != Verifier.unattributedDomain }.count
                == manifest.domains.keys.filter { $0 != Verifier.unattributedDomain }.count)
        }
    }

    static func checkModels(_ base: String, _ manifest: Manifest) async throws {
        let m = try await HTTPTestClient.get(base + "/v1/models?window=24h")
        #expect(m.status == 200, "\(m.text)")
        let rows = (m.json["models"] as? [[String: Any]]) ?? []
        #expect(rows.count == manifest.models.count)
        var got: [String: [String: Any]] = [:]
        for row in rows { got["\(row["model"] as? String ?? "")|\(row["service"] as? String ?? "")"] = row }
        for expected in manifest.models {
            let row = got["\(expected.model)|\(expected.service)"]
            #expect(HTTPReply.int(row?["cost_nusd"]) == expected.costNanoUSD, "\(expected.model)")
            #expect(row?["cost_usd"] as? String == independentUSD(expected.costNanoUSD))
            #expect(HTTPReply.int(row?["input_tokens"]) == expected.inputTokens)
            #expect(HTTPReply.int(row?["output_tokens"]) == expected.outputTokens)
            #expect(HTTPReply.int(row?["calls"]) == expected.calls)
        }
    }

    // MARK: refusals

    static func checkRefusals(_ base: String) async throws {
        func status(_ path: String) async throws -> (Int, String?) {
            let r = try await HTTPTestClient.get(base + path)
            return (r.status, r.string("error"))
        }
        for bad in ["zz", "00000000000000000000000000000000", String(repeating: "a", count: 31),
                    String(repeating: "a", count: 33), String(repeating: "g", count: 32)] {
            let (code, error) = try await status("/v1/transactions/\(bad)")
            #expect(code == 400, "\(bad)")
            #expect(error != nil)
        }
        #expect(try await status("/v1/transactions/" + String(repeating: "ab", count: 16)).0 == 404)
        #expect(try await status("/v1/sessions/" + String(repeating: "s", count: 257)).0 == 400)
        #expect(try await status("/v1/sessions/a%01b").0 == 400)
        #expect(try await status("/v1/sessions/a%FFb").0 == 400)
        #expect(try await status("/v1/sessions/" + String(repeating: "s", count: 256)).0 == 404)
        #expect(try await status("/v1/sessions/no-such-session").0 == 404)
        for window in ["0h", "32d", "abc", "24x", "-1h", "1.5h"] {
            #expect(try await status("/v1/domains?window=\(window)").0 == 400, "\(window)")
            #expect(try await status("/v1/models?window=\(window)").0 == 400, "\(window)")
        }
        #expect(try await status("/v1/nothing-here").0 == 404)

        let precommit = base + "/v1/sessions/any/precommit"
        for body in [
            "", "not json", "{}", #"{"ceiling_usd": 1, "estimate_usd": "0.1"}"#,
            #"{"ceiling_usd": "1e3", "estimate_usd": "0.1"}"#, #"{"ceiling_usd": "1", "estimate_usd": "-0.1"}"#,
            #"{"ceiling_usd": "1", "estimate_usd": "0.0000000001"}"#, #"{"ceiling_usd": "1"}"#,
            #"{"ceiling_usd": "10000000000000", "estimate_usd": "0"}"#,
        ] {
            let r = try await HTTPTestClient.post(precommit, json: body)
            #expect(r.status == 400, "\(body): \(r.text)")
            #expect(r.string("error") != nil)
        }
        let big = "{\"ceiling_usd\": \"1\", \"estimate_usd\": \"1\", \"pad\": \"" + String(repeating: "x", count: 20_000) + "\"}"
        #expect(try await HTTPTestClient.post(precommit, json: big).status == 413)
    }

    // MARK: precommit

    static func checkPrecommitAsSpendGrows(_ base: String, bootstrap: String, topic: String, logger: Logger) async throws {
        let sessionID = "it-precommit-\(UInt32.random(in: 0...UInt32.max))"
        let url = base + "/v1/sessions/\(sessionID)/precommit"
        func ask(_ ceiling: String, _ estimate: String) async throws -> HTTPReply {
            let r = try await HTTPTestClient.post(url, json: "{\"ceiling_usd\":\"\(ceiling)\",\"estimate_usd\":\"\(estimate)\"}")
            #expect(r.status == 200, "\(r.text)")
            return r
        }
        // Unknown session: nothing spent yet.
        var r = try await ask("0.010", "0.003")
        #expect(r.json["allowed"] as? Bool == true)
        #expect(r.string("spent_usd") == "0.000000000")
        #expect(r.string("remaining_usd") == "0.010000000")
        #expect(r.string("as_of")?.hasSuffix("Z") == true)

        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: bootstrap, properties: LoadProducer.producerProperties),
            logger: logger)
        func spend(_ n: UInt32, usd: String) throws {
            let now = UInt64(Date().timeIntervalSince1970 * 1e9)
            let record = try otlpRecord([
                SpanSpec(
                    trace: traceID(0xC0DE_0000 + n), span: spanID(0xC0DE_0000 + n), name: "agent.step",
                    start: now - 1_000_000, end: now,
                    attributes: [attr("session.id", sessionID), attr("cost.usd", usd)])
            ])
            try producer.produce(
                topic: topic, partition: 0, key: nil, value: record, timestampMilliseconds: Int64(now / 1_000_000))
            try producer.flush(timeout: .seconds(30))
        }
        func spent(becomes nanos: Int64) async throws -> Bool {
            try await eventually(timeout: .seconds(60)) {
                let s = try await HTTPTestClient.get(base + "/v1/sessions/\(sessionID)")
                return s.status == 200 && s.int("cost_nusd") == nanos
            }
        }

        try spend(1, usd: "0.006")
        #expect(try await spent(becomes: 6_000_000))
        r = try await ask("0.010", "0.003")
        #expect(r.json["allowed"] as? Bool == true)
        #expect(r.string("spent_usd") == "0.006000000")
        #expect(r.int("spent_nusd") == 6_000_000)
        #expect(r.string("remaining_usd") == "0.004000000")
        #expect(r.int("remaining_nusd") == 4_000_000)
        // Every money field also as integer nano-USD (CONTRACTS §5).
        #expect(r.string("ceiling_usd") == "0.010000000" && r.int("ceiling_nusd") == 10_000_000)
        #expect(r.string("estimate_usd") == "0.003000000" && r.int("estimate_nusd") == 3_000_000)
        // Exactly at the ceiling is allowed; one nano-dollar over is not.
        #expect(try await ask("0.010", "0.004").json["allowed"] as? Bool == true)
        #expect(try await ask("0.010", "0.004000001").json["allowed"] as? Bool == false)

        try spend(2, usd: "0.006")
        #expect(try await spent(becomes: 12_000_000))
        r = try await ask("0.010", "0.003")
        #expect(r.json["allowed"] as? Bool == false)
        #expect(r.string("spent_usd") == "0.012000000")
        #expect(r.string("remaining_usd") == "-0.002000000")
    }
}
