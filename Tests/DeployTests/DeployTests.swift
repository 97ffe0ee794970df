import Foundation
import Pipeline
import Testing
import Yams

/// The subcommands a container may run (README, CLI).
private let cliCommands: Set<String> = ["run", "migrate", "loadgen", "verify", "partitions", "budget", "pricing", "dev"]

/// Compose services running the traceledger image.
private func traceledgerServices(_ compose: [String: Any]) throws -> [(name: String, service: [String: Any])] {
    let services = try #require(compose.map("services"))
    return services.compactMap { name, value in
        guard let service = value as? [String: Any], (service.string("image") ?? "").hasPrefix("traceledger") else { return nil }
        return (name, service)
    }.sorted { $0.name < $1.name }
}

private func environment(_ service: [String: Any]) -> [String: String] {
    var out: [String: String] = [:]
    for (key, value) in service.map("environment") ?? [:] { out[key] = "\(value)" }
    return out
}

@Suite("Deploy: docker/compose.yaml and the Dockerfile")
struct ComposeTests {
    @Test("the stack has Kafka, PostgreSQL 15, a Collector, migrate, three workers, Prometheus, Grafana and a load profile")
    func services() throws {
        let compose = try yaml("docker/compose.yaml")
        let services = try #require(compose.map("services"))
        for name in ["kafka", "kafka-init", "postgres", "otel-collector", "migrate", "worker-1", "worker-2", "worker-3", "prometheus", "grafana", "loadgen"] {
            #expect(services[name] != nil, "service \(name) missing")
        }
        #expect(services.map("postgres")?.string("image") == "postgres:15")
        #expect(services.map("otel-collector")?.string("image")?.contains("opentelemetry-collector-contrib") == true)
        #expect((services.map("loadgen")?.list("profiles") as? [String]) == ["load"])
        let kafka = try #require(services.map("kafka")?.map("environment"))
        #expect(kafka.string("KAFKA_PROCESS_ROLES") == "broker,controller", "KRaft, one broker")
    }

    @Test("every traceledger service's environment keys are configuration keys, and the config loads with them")
    func environmentKeys() throws {
        let services = try traceledgerServices(try yaml("docker/compose.yaml"))
        #expect(services.count >= 5)
        for (name, service) in services {
            let env = environment(service)
            #expect(unknownEnvironmentKeys(env.keys) == [], "service \(name)")
            #expect(throws: Never.self, "service \(name): the worker would refuse its configuration") {
                _ = try workerConfiguration(environment: env)
            }
            let command = try #require(service.list("command") as? [String], "service \(name) has no command")
            #expect(cliCommands.contains(command.first ?? ""), "service \(name) runs \(command)")
        }
    }

    @Test("workers start after migrate, publish http.port, and stop within a grace period above shutdown.timeout")
    func workers() throws {
        let compose = try yaml("docker/compose.yaml")
        let services = try #require(compose.map("services"))
        let workers = try traceledgerServices(compose).filter { $0.name.hasPrefix("worker-") }
        #expect(workers.count == 3)
        #expect((services.map("migrate")?.list("command") as? [String]) == ["migrate"])
        for (name, worker) in workers {
            let config = try workerConfiguration(environment: environment(worker))
            #expect(config.kafkaTopics == ["otlp_spans"], "\(name)")
            let dependsOn = try #require(worker.map("depends_on"), "\(name)")
            #expect((dependsOn["migrate"] as? [String: Any])?.string("condition") == "service_completed_successfully", "\(name)")
            let ports = ((worker.list("ports") ?? []) + (worker.list("expose") ?? [])).map { "\($0)" }
            #expect(!ports.isEmpty, "\(name) exposes no port")
            for port in ports {
                #expect(port.split(separator: ":").last.map(String.init) == String(config.httpPort), "\(name) port \(port)")
            }
            // The files it reads are absolute paths inside a mounted directory.
            let targets = (worker.list("volumes") ?? []).compactMap { "\($0)".split(separator: ":").dropFirst().first.map(String.init) }
            for file in [config.pricingFile, config.budgetsFile] {
                #expect(file.hasPrefix("/") && targets.contains { file.hasPrefix($0 + "/") }, "\(name): \(file) not in a mounted directory \(targets)")
            }
            let grace = try #require(worker.string("stop_grace_period").flatMap(seconds), "\(name)")
            #expect(grace > seconds(config.shutdownTimeout), "\(name): stop_grace_period \(grace) s")
        }
    }

    @Test("bind-mounted files exist and named volumes are declared")
    func volumes() throws {
        let compose = try yaml("docker/compose.yaml")
        let declared = Set((compose.map("volumes") ?? [:]).keys)
        for (name, value) in try #require(compose.map("services")) {
            let service = try #require(value as? [String: Any])
            for volume in (service.list("volumes") ?? []).map({ "\($0)" }) {
                let source = String(volume.split(separator: ":")[0])
                if source.hasPrefix(".") {
                    let path = repoFile("docker").appendingPathComponent(source).standardizedFileURL.path
                    #expect(FileManager.default.fileExists(atPath: path), "service \(name): \(source) does not exist")
                } else {
                    #expect(declared.contains(source), "service \(name): volume \(source) not declared")
                }
            }
        }
    }

    @Test("the Dockerfile: Swift 6.3 build stage, slim Debian runtime with the C libraries, non-root, run, HEALTHCHECK on /healthz")
    func dockerfile() throws {
        let dockerfile = try text("docker/Dockerfile")
        let config = try workerConfiguration(environment: [:])
        #expect(dockerfile.contains("FROM swift:6.3"))
        #expect(dockerfile.contains("FROM debian:bookworm-slim"))
        for package in ["librdkafka1", "libpq5", "liblz4-1", "libcurl4"] { #expect(dockerfile.contains(package), "\(package)") }
        #expect(dockerfile.contains("USER 10001"))
        #expect(dockerfile.contains(#"ENTRYPOINT ["traceledger"]"#))
        #expect(dockerfile.contains(#"CMD ["run""#))
        #expect(dockerfile.contains("EXPOSE \(config.httpPort)"))
        let healthcheck = try #require(dockerfile.split(separator: "HEALTHCHECK").last)
        #expect(healthcheck.contains("/healthz"))
        // Every ENV key of the image is a configuration key too.
        let envKeys = dockerfile.matches(of: /(TRACELEDGER_[A-Z_]+)=/).map { String($0.output.1) }
        #expect(!envKeys.isEmpty)
        #expect(unknownEnvironmentKeys(envKeys) == [])
    }
}

@Suite("Deploy: Collector and Prometheus")
struct CollectorTests {
    @Test("the Collector's kafka exporter writes the topic, encoding and partitioning the workers read")
    func collectorMatchesConfig() throws {
        let collector = try yaml("docker/otel-collector.yaml")
        let kafka = try #require(collector.map("exporters")?.map("kafka"))
        let config = try workerConfiguration(environment: [:])
        let topic = try #require(kafka.string("topic"))
        #expect(topic == "otlp_spans")
        #expect(config.kafkaTopics.contains(topic), "config/traceledger.yaml kafka.topics \(config.kafkaTopics)")
        #expect(kafka.string("encoding") == "otlp_proto")
        #expect(kafka.string("encoding") == (config.kafkaEncodings[topic] ?? .otlpProto).rawValue)
        #expect(kafka["partition_traces_by_id"] as? Bool == true)
        // It is in the traces pipeline, fed by the OTLP receiver.
        let traces = try #require(collector.map("service")?.map("pipelines")?.map("traces"))
        #expect((traces.list("exporters") as? [String])?.contains("kafka") == true)
        #expect((traces.list("receivers") as? [String])?.contains("otlp") == true)
        // Same brokers as the workers.
        let worker = try #require(try traceledgerServices(try yaml("docker/compose.yaml")).first { $0.name == "worker-1" })
        #expect((kafka.list("brokers") as? [String]) == [environment(worker.service)["TRACELEDGER_KAFKA_BROKERS"] ?? ""])
    }

    @Test("Prometheus scrapes /metrics of every worker on http.port")
    func prometheusScrapesWorkers() throws {
        let prometheus = try yaml("docker/prometheus.yml")
        let compose = try yaml("docker/compose.yaml")
        let workers = try traceledgerServices(compose).filter { $0.name.hasPrefix("worker-") }
        let job = try #require((prometheus.list("scrape_configs") as? [[String: Any]])?.first { $0.string("job_name") == "traceledger" })
        #expect(job.string("metrics_path") ?? "/metrics" == "/metrics")
        let targets = Set((job.list("static_configs") as? [[String: Any]] ?? []).flatMap { ($0.list("targets") as? [String]) ?? [] })
        var expected: Set<String> = []
        for (name, worker) in workers {
            expected.insert("\(name):\(try workerConfiguration(environment: environment(worker)).httpPort)")
        }
        #expect(targets == expected)
    }

    @Test("Grafana provisions both data sources the dashboard uses")
    func grafanaProvisioning() throws {
        let sources = try yaml("docker/grafana/provisioning/datasources/datasources.yaml")
        let uids = Set((sources.list("datasources") as? [[String: Any]] ?? []).compactMap { $0.string("uid") })
        let dashboard = try dashboardJSON()
        var used: Set<String> = []
        for panel in dashboard.panels { if let uid = (panel["datasource"] as? [String: Any])?["uid"] as? String { used.insert(uid) } }
        #expect(!used.isEmpty)
        #expect(used.isSubset(of: uids), "dashboard uses \(used), provisioned \(uids)")
        let providers = try yaml("docker/grafana/provisioning/dashboards/dashboards.yaml")
        let path = (providers.list("providers") as? [[String: Any]])?.first?.map("options")?.string("path")
        let grafana = try #require(try yaml("docker/compose.yaml").map("services")?.map("grafana"))
        #expect((grafana.list("volumes") as? [String])?.contains("./grafana/dashboards:\(path ?? "?"):ro") == true)
    }
}

/// The dashboard's panels (rows' nested panels included).
private func dashboardJSON() throws -> (panels: [[String: Any]], raw: [String: Any]) {
    let data = try Data(contentsOf: repoFile("docker/grafana/dashboards/traceledger.json"))
    let raw = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    var panels: [[String: Any]] = []
    for panel in raw["panels"] as? [[String: Any]] ?? [] {
        panels.append(panel)
        panels += panel["panels"] as? [[String: Any]] ?? []
    }
    return (panels, raw)
}

@Suite("Deploy: Grafana dashboard")
struct DashboardTests {
    @Test("every metric the dashboard queries is one /metrics exports (docs/metrics.md, else the fixed list)")
    func metricNamesExist() throws {
        let exported = exportedMetricNames()
        var queried: Set<String> = []
        for panel in try dashboardJSON().panels {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                guard let expr = target["expr"] as? String else { continue }
                #expect(unknownMetrics(in: expr, exported: exported) == [], "panel \(panel["title"] ?? "?"): \(expr)")
                queried.formUnion(metricNames(in: expr))
            }
        }
        // The panels the issue asks for are there.
        for name in ["traceledger_consumer_lag", "traceledger_epochs_total", "traceledger_epoch_write_seconds_bucket",
                     "traceledger_paused", "traceledger_fencing_rejections_total", "traceledger_dead_letters_total",
                     "traceledger_unattributed_share", "traceledger_budget_utilization"] {
            #expect(queried.contains(name), "no panel queries \(name)")
        }
    }

    @Test("SQL panels read only ledger views and tables, and only their columns")
    func sqlPanels() throws {
        let relations = try ledgerRelations()
        for view in ["transaction_costs", "domain_costs_24h", "session_costs"] { #expect(relations[view] != nil, "\(view) not in the migrations") }
        var read: Set<String> = []
        for panel in try dashboardJSON().panels {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                guard let sql = target["rawSql"] as? String else { continue }
                #expect(sqlProblems(sql, schema: "traceledger", relations: relations) == [], "panel \(panel["title"] ?? "?")")
                read.formUnion(sql.matches(of: /traceledger\.([a-z0-9_]+)/).map { String($0.output.1) })
            }
        }
        #expect(read.isSuperset(of: ["transaction_costs", "domain_costs_24h", "session_costs", "model_hourly"]))
    }

    @Test("the checks above can fail: an unknown metric, relation or column is reported")
    func checksCanFail() throws {
        let exported = exportedMetricNames()
        #expect(unknownMetrics(in: "rate(traceledger_bogus_total[5m])", exported: exported) == ["traceledger_bogus_total"])
        #expect(unknownMetrics(in: "traceledger_epoch_write_seconds_bucket", exported: exported) == [])
        let relations = try ledgerRelations()
        #expect(!sqlProblems("SELECT nonexistent FROM traceledger.transaction_costs", schema: "traceledger", relations: relations).isEmpty)
        #expect(!sqlProblems("SELECT cost_usd FROM traceledger.no_such_view", schema: "traceledger", relations: relations).isEmpty)
        #expect(sqlProblems("SELECT cost_usd FROM traceledger.transaction_costs", schema: "traceledger", relations: relations) == [])
        #expect(unknownEnvironmentKeys(["TRACELEDGER_KAFKA_BROKER"]) == ["TRACELEDGER_KAFKA_BROKER"])
    }
}

@Suite("Deploy: Kubernetes manifests")
struct KubernetesTests {
    private func manifest(_ name: String) throws -> [String: Any] { try yaml("deploy/k8s/\(name)") }

    private func envConfigMap() throws -> [String: String] {
        let map = try manifest("configmap-env.yaml")
        return (map.map("data") ?? [:]).mapValues { "\($0)" }
    }

    @Test("kustomization lists existing files and generates the config ConfigMap from config/")
    func kustomization() throws {
        let k = try manifest("kustomization.yaml")
        for resource in try #require(k.list("resources") as? [String]) {
            #expect(FileManager.default.fileExists(atPath: repoFile("deploy/k8s/\(resource)").path), "\(resource)")
        }
        let generator = try #require((k.list("configMapGenerator") as? [[String: Any]])?.first { $0.string("name") == "traceledger-config" })
        let files = try #require(generator.list("files") as? [String])
        #expect(Set(files.map { String($0.split(separator: "=")[0]) }) == ["traceledger.yaml", "pricing.yaml"])
        for file in files {
            let path = String(file.split(separator: "=")[1])
            #expect(FileManager.default.fileExists(atPath: repoFile("deploy/k8s").appendingPathComponent(path).standardizedFileURL.path), "\(path)")
        }
    }

    @Test("the env ConfigMap holds only configuration keys, and the worker accepts its values")
    func envKeys() throws {
        let env = try envConfigMap()
        #expect(unknownEnvironmentKeys(env.keys) == [])
        #expect(throws: Never.self) { _ = try workerConfiguration(environment: env) }
    }

    @Test("Deployment: readiness /readyz and liveness /healthz on http.port, grace period above shutdown.timeout")
    func deployment() throws {
        let deployment = try manifest("deployment.yaml")
        let config = try workerConfiguration(environment: try envConfigMap())
        let pod = try #require(deployment.map("spec")?.map("template")?.map("spec"))
        let grace = try #require(pod["terminationGracePeriodSeconds"] as? Int)
        #expect(Double(grace) > seconds(config.shutdownTimeout))
        let container = try #require((pod.list("containers") as? [[String: Any]])?.first)
        #expect((container.list("args") as? [String])?.first == "run")
        let ports = try #require(container.list("ports") as? [[String: Any]])
        let http = try #require(ports.first { $0.string("name") == "http" })
        #expect(http["containerPort"] as? Int == config.httpPort)
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            let get = try #require(container.map(probe)?.map("httpGet"), "\(probe)")
            #expect(get.string("path") == path, "\(probe)")
            #expect(get.string("port") == "http" || get.string("port") == String(config.httpPort), "\(probe)")
        }
        let envFrom = (container.list("envFrom") as? [[String: Any]] ?? []).compactMap { $0.map("configMapRef")?.string("name") ?? $0.map("secretRef")?.string("name") }
        #expect(envFrom == ["traceledger-env", "traceledger-db"])
        let volumes = (pod.list("volumes") as? [[String: Any]] ?? []).compactMap { $0.map("configMap")?.string("name") }
        #expect(volumes.contains("traceledger-config"))
        // The pricing file the worker reads is in the mounted ConfigMap.
        let mounts = (container.list("volumeMounts") as? [[String: Any]] ?? []).compactMap { $0.string("mountPath") }
        for file in [config.pricingFile, config.budgetsFile] {
            #expect(file.hasPrefix("/") && mounts.contains { file.hasPrefix($0 + "/") }, "\(file) not under \(mounts)")
        }
    }

    @Test("HPA scales on the consumer-lag external metric with max replicas <= the topic's partitions")
    func hpa() throws {
        let hpa = try manifest("hpa.yaml")
        let spec = try #require(hpa.map("spec"))
        let partitions = try #require(hpa.map("metadata")?.map("annotations")?.string("traceledger.io/topic-partitions").flatMap { Int($0) })
        let maxReplicas = try #require(spec["maxReplicas"] as? Int)
        #expect(maxReplicas <= partitions)
        // Compose makes otlp_spans with that many partitions.
        let initCommand = ((try yaml("docker/compose.yaml").map("services")?.map("kafka-init")?.list("command") as? [String]) ?? []).joined()
        #expect(initCommand.contains("--topic otlp_spans --partitions \(partitions)"))
        let metric = try #require((spec.list("metrics") as? [[String: Any]])?.first?.map("external")?.map("metric"))
        #expect(metric.string("name") == "traceledger_consumer_lag")
        #expect(exportedMetricNames().contains("traceledger_consumer_lag"))
        #expect(spec.map("scaleTargetRef")?.string("name") == "traceledger")
    }

    @Test("PDB, migrate Job, budget-check and retention CronJobs run the right commands")
    func jobs() throws {
        #expect(try manifest("pdb.yaml").string("kind") == "PodDisruptionBudget")
        func args(_ pod: [String: Any]?) -> [String]? {
            (pod?.list("containers") as? [[String: Any]])?.first?.list("args") as? [String]
        }
        let migrate = try manifest("job-migrate.yaml")
        #expect(migrate.string("kind") == "Job")
        #expect(args(migrate.map("spec")?.map("template")?.map("spec")) == ["migrate"])
        for (file, expected) in [("cronjob-budget-check.yaml", ["budget", "check"]), ("cronjob-retention.yaml", ["partitions", "--drop-older-than", "13"])] {
            let cron = try manifest(file)
            #expect(cron.string("kind") == "CronJob", "\(file)")
            let pod = cron.map("spec")?.map("jobTemplate")?.map("spec")?.map("template")?.map("spec")
            #expect(args(pod) == expected, "\(file)")
            #expect(cron.map("spec")?.string("concurrencyPolicy") == "Forbid", "\(file)")
        }
    }
}
