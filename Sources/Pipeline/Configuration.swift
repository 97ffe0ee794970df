import Foundation
public import Ledger
import Yams

/// The worker's configuration (docs/configuration.md): defaults, then `config/traceledger.yaml` (or the file
/// given), then `TRACELEDGER_*` environment variables (key path upper-cased, `.` → `_`), each later
/// source overriding the earlier. The database comes from `DATABASE_URL` or the `PG*` variables.
/// Guarantee: every value is validated on load (positive limits, known enum values, parseable durations).
public struct Configuration: Sendable, Equatable {
    public enum StartPosition: String, Sendable { case earliest, latest }
    public enum GapPolicy: String, Sendable { case record, stop }
    public enum Encoding: String, Sendable { case otlpProto = "otlp_proto", otlpJSON = "otlp_json" }

    public var kafkaBrokers = "127.0.0.1:9092"
    public var kafkaTopics = ["otlp_spans"]
    public var kafkaGroup = "traceledger"
    public var kafkaStart = StartPosition.earliest
    public var kafkaOnGap = GapPolicy.record
    /// Per-topic value encoding; topics not listed use `otlp_proto`.
    public var kafkaEncodings: [String: Encoding] = [:]
    /// Dead-letter topic name = source topic + this suffix.
    public var kafkaDLQSuffix = ".dlq"
    /// librdkafka properties passed through untouched.
    public var kafkaProperties: [String: String] = [:]
    public var pricingFile = "config/pricing.yaml"
    public var pricingReloadInterval = Duration.seconds(5)
    public var httpPort = 9464
    public var flushInterval = Duration.seconds(1)
    public var flushMaxSpans = 100_000
    public var flushMaxInflightEpochs = 2
    /// `flush.min_interval`: an open epoch this old goes to an idle writer before `flush.interval`; a
    /// value ≥ `flush.interval` turns that off.
    public var flushMinInterval = Duration.milliseconds(50)
    public var databaseSchema = "traceledger"
    /// libpq `connect_timeout` (whole seconds, rounded up; libpq waits at least 2 s); 0 = none.
    public var databaseConnectTimeout = Duration.seconds(5)
    /// Server `statement_timeout` of every ledger session; 0 = none.
    public var databaseStatementTimeout = Duration.seconds(60)
    /// Server `lock_timeout` of every ledger session (a zombie's row locks fail the wait with 55P03); 0 = none.
    public var databaseLockTimeout = Duration.seconds(10)
    /// Server `idle_in_transaction_session_timeout` (a stopped worker's open transaction is ended); 0 = none.
    public var databaseIdleInTransactionTimeout = Duration.seconds(60)
    /// TCP keepalives: idle time before the first probe, time between probes, probes before giving up.
    public var databaseKeepalivesIdle = Duration.seconds(30)
    public var databaseKeepalivesInterval = Duration.seconds(10)
    public var databaseKeepalivesCount = 3
    public var shutdownTimeout = Duration.seconds(25)
    public var attributionGrace = Duration.seconds(15 * 60)
    /// A record larger than this is rejected as `too_large`.
    public var recordsMaxBytes = 16 * 1024 * 1024
    public var recordsMaxAge = Duration.seconds(35 * 86_400)
    public var recordsMaxFutureSkew = Duration.seconds(2 * 3_600)
    /// Shard count; 0 = one per core.
    public var pipelineShards = 0
    /// Bytes of polled records the shards may hold before the ingest thread waits (48 MiB). It holds more
    /// than a second of a shard's work (librdkafka 2.0.2 refetches up to ~1 s after its queue drains,
    /// unless the ingest loop's nudge wakes it), while one slow shard that fills it and librdkafka's
    /// prefetch (16 MiB, ``Kafka/WorkerKafkaDefaults``) stays under 256 MiB of RSS (64 MiB here: 250–270
    /// MiB with one shard on the Collector shape, measured with a 64 MiB prefetch).
    public var pipelineMaxBufferedBytes = 48 * 1024 * 1024
    public var budgetsFile = "config/budgets.yaml"
    /// How often the budget monitor reads 24-hour spend and checks thresholds.
    public var budgetsCheckInterval = Duration.seconds(10)
    /// Timeout of one budget webhook POST attempt.
    public var budgetsWebhookTimeout = Duration.seconds(5)
    /// Retries of a failed budget webhook POST (with backoff) before the notice is dropped and counted.
    public var budgetsWebhookRetries = 3
    /// Baggage keys that fill in missing span attributes (`session.id` always).
    public var baggageKeys = ["session.id"]
    /// HTTP listen address (`0.0.0.0` = every interface).
    public var httpHost = "0.0.0.0"
    /// Dedicated read connections (threads) of the HTTP API.
    public var httpReadConnections = 4
    /// `statement_timeout` of each HTTP API read.
    public var httpStatementTimeout = Duration.seconds(5)
    /// `/readyz` turns false once ingest has been paused (backpressure) longer than this.
    public var httpReadyMaxPause = Duration.seconds(60)

    public init() {}

    /// Every key, in the order `config/traceledger.yaml` documents them.
    public static let keys: [String] = [
        "kafka.brokers", "kafka.topics", "kafka.group", "kafka.start", "kafka.on_gap", "kafka.encodings",
        "kafka.dlq_suffix", "kafka.properties", "pricing.file", "pricing.reload_interval", "http.port",
        "flush.interval", "flush.min_interval", "flush.max_spans", "flush.max_inflight_epochs", "database.schema", "database.connect_timeout",
        "database.statement_timeout", "database.lock_timeout", "database.idle_in_transaction_timeout",
        "database.keepalives_idle", "database.keepalives_interval", "database.keepalives_count", "shutdown.timeout",
        "attribution.grace", "records.max_bytes", "records.max_age", "records.max_future_skew",
        "pipeline.shards", "pipeline.max_buffered_bytes", "budgets.file", "baggage.keys",
        "budgets.check_interval", "budgets.webhook_timeout", "budgets.webhook_retries",
        "http.host", "http.read_connections", "http.statement_timeout", "http.ready_max_pause",
    ]

    /// A map in its environment form: `name=value,name=value`. librdkafka list values hold commas
    /// (`debug=cgrp,topic,fetch`), so a part without `=` continues the previous value, and `\,` is a comma
    /// inside a value (`sasl.oauthbearer.config=scope=a\,b`). Whitespace around names is dropped.
    /// - Throws: the text of the error when a part before any `=` has no name, or a name is empty.
    static func propertyList(_ text: String) throws(PropertyListError) -> [String: String] {
        var parts: [String] = [""]
        var escaped = false
        for c in text {
            if escaped {
                parts[parts.count - 1].append(c == "," ? "," : "\\\(c)")
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == "," {
                parts.append("")
            } else {
                parts[parts.count - 1].append(c)
            }
        }
        if escaped { parts[parts.count - 1].append("\\") }
        var out: [String: String] = [:]
        var last: String?
        for part in parts where !part.trimmingCharacters(in: .whitespaces).isEmpty {
            if let eq = part.firstIndex(of: "=") {
                let name = part[..<eq].trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty else { throw PropertyListError(message: "expected name=value, got '\(part)'") }
                out[name] = String(part[part.index(after: eq)...])
                last = name
            } else if let name = last, let value = out[name] {
                out[name] = value + "," + part
            } else {
                throw PropertyListError(message: "expected name=value, got '\(part)'")
            }
        }
        return out
    }

    /// Why an environment-form map did not parse.
    struct PropertyListError: Error {
        let message: String
    }

    /// The environment variable for a key: `kafka.brokers` → `TRACELEDGER_KAFKA_BROKERS`.
    public static func environmentName(of key: String) -> String {
        "TRACELEDGER_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// Loads defaults ← `file` (when given; it must exist) ← environment.
    public static func load(file: String?, environment: [String: String]) throws(ConfigurationError) -> Configuration {
        var config = Configuration()
        if let file {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ConfigurationError(key: "-", source: file, reason: "cannot read: \(error.localizedDescription)")
            }
            let setByFile = try config.apply(yaml: text, source: file)
            config.resolveRelativePaths(setByFile, againstDirectoryOf: file)
        }
        for key in keys {
            let name = environmentName(of: key)
            if let value = environment[name] {
                try config.set(key, .scalar(value), source: "env \(name)")
            }
        }
        return config
    }

    enum RawValue {
        case scalar(String)
        case list([String])
        case map([String: String])
    }

    /// Applies a YAML document; returns the keys it set.
    @discardableResult
    mutating func apply(yaml text: String, source: String) throws(ConfigurationError) -> Set<String> {
        var setKeys: Set<String> = []
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(key: "-", source: source, reason: "invalid YAML: \(error)")
        }
        guard let node else { return setKeys }
        guard case .mapping(let top) = node else {
            throw ConfigurationError(key: "-", source: source, reason: "the top level must be a mapping")
        }
        for (k, v) in top {
            guard let section = k.string else { continue }
            guard case .mapping(let inner) = v else {
                throw ConfigurationError(key: section, source: source, reason: "must be a mapping of keys")
            }
            for (ik, iv) in inner {
                guard let name = ik.string else { continue }
                let key = "\(section).\(name)"
                let where_ = "\(source):\(ik.mark.map { "\($0.line)" } ?? "?")"
                guard Self.keys.contains(key) else {
                    throw ConfigurationError(key: key, source: where_, reason: "unknown key")
                }
                let raw: RawValue
                switch iv {
                case .scalar(let s): raw = .scalar(s.string)
                case .sequence(let seq):
                    // Every element must be a scalar: a nested list or map is refused, never dropped.
                    var out: [String] = []
                    for element in seq {
                        guard let e = element.string else {
                            throw ConfigurationError(key: key, source: where_, reason: "list elements must be plain values")
                        }
                        out.append(e)
                    }
                    raw = .list(out)
                case .mapping(let m):
                    // Names and values must be scalars (librdkafka properties are strings: write a list
                    // as "a,b"); anything else is refused with its name, never dropped silently.
                    var out: [String: String] = [:]
                    for (mk, mv) in m {
                        guard let a = mk.string else {
                            throw ConfigurationError(key: key, source: where_, reason: "names must be plain values")
                        }
                        guard let b = mv.string else {
                            throw ConfigurationError(
                                key: "\(key).\(a)", source: where_,
                                reason: "must be a plain value (write a list as \"a,b\")")
                        }
                        out[a] = b
                    }
                    raw = .map(out)
                default: throw ConfigurationError(key: key, source: where_, reason: "unsupported value")
                }
                try set(key, raw, source: where_)
                setKeys.insert(key)
            }
        }
        return setKeys
    }

    /// The keys that name files: a relative path set in a config file is relative to that file's directory.
    public static let pathKeys = ["pricing.file", "budgets.file"]

    /// Makes the relative file paths that `keys` (set by the config file `file`) hold relative to the
    /// file's directory instead of the working directory, so a worker started elsewhere reads the same
    /// files. Defaults and environment values stay relative to the working directory.
    mutating func resolveRelativePaths(_ keys: Set<String>, againstDirectoryOf file: String) {
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        func resolve(_ path: String) -> String {
            if path.hasPrefix("/") || path.isEmpty { return path }
            return directory.appendingPathComponent(path).standardizedFileURL.path
        }
        if keys.contains("pricing.file") { pricingFile = resolve(pricingFile) }
        if keys.contains("budgets.file") { budgetsFile = resolve(budgetsFile) }
    }

    /// The message for a file named by `key` that cannot be read: the path (and what it resolves to from
    /// the working directory), the key and its environment variable.
    public static func unreadableFileMessage(key: String, path: String, reason: String = "cannot read the file") -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        return "\(path)\(absolute == path ? "" : " (\(absolute))"): \(reason); set \(key) in the config file "
            + "(a relative path there is relative to the file's directory) or \(environmentName(of: key))"
    }

    mutating func set(_ key: String, _ raw: RawValue, source: String) throws(ConfigurationError) {
        func fail(_ reason: String) -> ConfigurationError { ConfigurationError(key: key, source: source, reason: reason) }
        func scalar() throws(ConfigurationError) -> String {
            guard case .scalar(let s) = raw else { throw fail("expected a single value") }
            return s.trimmingCharacters(in: .whitespaces)
        }
        func list() throws(ConfigurationError) -> [String] {
            switch raw {
            case .scalar(let s):
                return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            case .list(let l): return l
            case .map: throw fail("expected a list")
            }
        }
        func map() throws(ConfigurationError) -> [String: String] {
            switch raw {
            case .map(let m): return m
            case .scalar(let s):
                do { return try Self.propertyList(s) } catch { throw fail(error.message) }
            case .list: throw fail("expected a map")
            }
        }
        func positive() throws(ConfigurationError) -> Int {
            let s = try scalar()
            guard let v = Int(s), v > 0 else { throw fail("expected a positive integer, got '\(s)'") }
            return v
        }
        func duration() throws(ConfigurationError) -> Duration {
            let s = try scalar()
            guard let d = parseDuration(s) else { throw fail("expected a duration like 500ms, 1s, 15m, 2h, 35d; got '\(s)'") }
            return d
        }
        switch key {
        case "kafka.brokers": kafkaBrokers = try scalar()
        case "kafka.topics":
            let l = try list()
            guard !l.isEmpty else { throw fail("at least one topic") }
            kafkaTopics = l
        case "kafka.group": kafkaGroup = try scalar()
        case "kafka.start":
            let s = try scalar()
            guard let v = StartPosition(rawValue: s) else { throw fail("expected earliest or latest, got '\(s)'") }
            kafkaStart = v
        case "kafka.on_gap":
            let s = try scalar()
            guard let v = GapPolicy(rawValue: s) else { throw fail("expected record or stop, got '\(s)'") }
            kafkaOnGap = v
        case "kafka.encodings":
            var out: [String: Encoding] = [:]
            for (topic, e) in try map() {
                guard let v = Encoding(rawValue: e) else { throw fail("topic \(topic): expected otlp_proto or otlp_json") }
                out[topic] = v
            }
            kafkaEncodings = out
        case "kafka.dlq_suffix": kafkaDLQSuffix = try scalar()
        case "kafka.properties": kafkaProperties = try map()
        case "pricing.file": pricingFile = try scalar()
        case "pricing.reload_interval": pricingReloadInterval = try duration()
        case "http.port":
            let s = try scalar()
            guard let p = Int(s), p >= 0, p < 65536 else { throw fail("expected a port 0...65535 (0 = any free port), got '\(s)'") }
            httpPort = p
        case "flush.interval": flushInterval = try duration()
        case "flush.min_interval": flushMinInterval = try duration()
        case "flush.max_spans": flushMaxSpans = try positive()
        case "flush.max_inflight_epochs": flushMaxInflightEpochs = try positive()
        case "database.schema":
            let s = try scalar()
            guard !s.isEmpty, s.count <= 63,
                s.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }),
                let first = s.utf8.first, !(first >= 48 && first <= 57)
            else { throw fail("expected a lowercase identifier ([a-z_][a-z0-9_]*), got '\(s)'") }
            databaseSchema = s
        case "database.connect_timeout": databaseConnectTimeout = try duration()
        case "database.statement_timeout": databaseStatementTimeout = try duration()
        case "database.lock_timeout": databaseLockTimeout = try duration()
        case "database.idle_in_transaction_timeout": databaseIdleInTransactionTimeout = try duration()
        case "database.keepalives_idle": databaseKeepalivesIdle = try duration()
        case "database.keepalives_interval": databaseKeepalivesInterval = try duration()
        case "database.keepalives_count":
            let s = try scalar()
            guard let v = Int(s), v >= 0, v <= 1000 else { throw fail("expected 0 (the OS default) ... 1000, got '\(s)'") }
            databaseKeepalivesCount = v
        case "shutdown.timeout": shutdownTimeout = try duration()
        case "attribution.grace": attributionGrace = try duration()
        case "records.max_bytes": recordsMaxBytes = try positive()
        case "records.max_age": recordsMaxAge = try duration()
        case "records.max_future_skew": recordsMaxFutureSkew = try duration()
        case "pipeline.shards":
            let s = try scalar()
            guard let v = Int(s), v >= 0, v <= 256 else { throw fail("expected 0 (one per core) ... 256") }
            pipelineShards = v
        case "pipeline.max_buffered_bytes": pipelineMaxBufferedBytes = try positive()
        case "budgets.file": budgetsFile = try scalar()
        case "baggage.keys": baggageKeys = try list()
        case "budgets.check_interval":
            let d = try duration()
            guard d > .zero else { throw fail("expected a positive duration") }
            budgetsCheckInterval = d
        case "budgets.webhook_timeout":
            let d = try duration()
            guard d > .zero else { throw fail("expected a positive duration") }
            budgetsWebhookTimeout = d
        case "budgets.webhook_retries":
            let s = try scalar()
            guard let v = Int(s), v >= 0, v <= 100 else { throw fail("expected 0 ... 100, got '\(s)'") }
            budgetsWebhookRetries = v
        case "http.host": httpHost = try scalar()
        case "http.read_connections":
            let n = try positive()
            guard n <= 64 else { throw fail("expected 1...64 read connections") }
            httpReadConnections = n
        case "http.statement_timeout": httpStatementTimeout = try duration()
        case "http.ready_max_pause": httpReadyMaxPause = try duration()
        default: throw fail("unknown key")
        }
    }
}

extension Configuration {
    /// The `database.*` timeouts as the Ledger connection settings every worker connection gets.
    public var databaseSession: PGSessionSettings {
        PGSessionSettings(
            connectTimeout: databaseConnectTimeout, keepalivesIdle: databaseKeepalivesIdle,
            keepalivesInterval: databaseKeepalivesInterval, keepalivesCount: databaseKeepalivesCount,
            statementTimeout: databaseStatementTimeout, lockTimeout: databaseLockTimeout,
            idleInTransactionTimeout: databaseIdleInTransactionTimeout)
    }
}

/// `500ms`, `1s`, `15m`, `2h`, `35d` (integer count + unit).
func parseDuration(_ s: String) -> Duration? {
    let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
    for (suffix, ms) in units where s.hasSuffix(suffix) {
        let number = s.dropLast(suffix.count)
        guard let n = Int64(number), n >= 0, n <= Int64.max / ms / 1000 else { return nil }
        return .milliseconds(n * ms)
    }
    return nil
}
