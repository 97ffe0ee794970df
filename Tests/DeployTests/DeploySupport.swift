import Foundation
import Pipeline
import Testing
import TestSupport
import Yams

// Static checks of docker/ and deploy/k8s/ (this machine has no container engine: nothing here builds an
// image or starts a container). They parse the files and compare them with the code's own lists:
// configuration keys (`Configuration.keys`), the shipped config file, the migration SQL, metric names.

func repoFile(_ path: String) -> URL { repositoryRoot.appendingPathComponent(path) }

func text(_ path: String) throws -> String { try String(contentsOf: repoFile(path), encoding: .utf8) }

/// A YAML file as plain values (anchors and aliases resolved).
func yaml(_ path: String) throws -> [String: Any] {
    let loaded = try Yams.load(yaml: try text(path))
    return try #require(loaded as? [String: Any], "\(path) is not a mapping")
}

extension Dictionary where Key == String, Value == Any {
    func map(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }
    func list(_ key: String) -> [Any]? { self[key] as? [Any] }
    func string(_ key: String) -> String? {
        switch self[key] {
        case let s as String: s
        case let i as Int: String(i)
        case let b as Bool: String(b)
        default: nil
        }
    }
}

/// Variables the executable reads besides `TRACELEDGER_` + a configuration key: the database (libpq's
/// `DATABASE_URL` and `PG*`) and the log level (README "Running a worker").
let nonConfigEnvironment: Set<String> = ["DATABASE_URL", "TRACELEDGER_LOG_LEVEL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE"]

/// The environment variable names of every configuration key.
let configEnvironmentNames = Set(Configuration.keys.map(Configuration.environmentName(of:)))

/// Environment keys that are neither a configuration key nor one of ``nonConfigEnvironment``.
func unknownEnvironmentKeys(_ keys: some Sequence<String>) -> [String] {
    keys.filter { !configEnvironmentNames.contains($0) && !nonConfigEnvironment.contains($0) }.sorted()
}

/// The shipped config file with `environment` applied, as a worker would load it.
func workerConfiguration(environment: [String: String]) throws -> Configuration {
    try Configuration.load(file: repoFile("config/traceledger.yaml").path, environment: environment)
}

/// `25s`, `1m`, `500ms`, or a bare number of seconds (compose durations and k8s seconds).
func seconds(_ text: String) -> Double? {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        if let v = Double(text.dropLast(suffix.count)) { return v * factor }
    }
    return Double(text)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// The fixed metric names (issue #10's list): read from docs/metrics.md when it exists, else this list.
let fixedMetricNames: Set<String> = [
    "traceledger_records_total", "traceledger_dead_letters_total", "traceledger_dead_letters_refused_total",
    "traceledger_spans_total", "traceledger_span_anomalies_total", "traceledger_records_bad_traceparent_total",
    "traceledger_spans_with_session_total", "traceledger_sampled_spans_total", "traceledger_epochs_total",
    "traceledger_fencing_rejections_total", "traceledger_epoch_write_seconds", "traceledger_epoch_spans",
    "traceledger_inflight_epochs", "traceledger_paused", "traceledger_ready", "traceledger_buffered_bytes",
    "traceledger_consumer_lag", "traceledger_assigned_partitions", "traceledger_rebalances_total",
    "traceledger_retention_gap_records_total", "traceledger_cost_nusd_total", "traceledger_unattributed_share",
    "traceledger_budget_usd", "traceledger_budget_utilization", "traceledger_catalog_version",
    "traceledger_catalog_reload_failures_total", "traceledger_webhook_failures_total",
]

func exportedMetricNames() -> Set<String> {
    guard let doc = try? text("docs/metrics.md") else { return fixedMetricNames }
    let names = metricNames(in: doc)
    return names.isEmpty ? fixedMetricNames : names
}

/// Every `traceledger_…` name in a text.
func metricNames(in text: String) -> Set<String> {
    let regex = /traceledger_[a-z0-9_]*[a-z0-9]/
    return Set(text.matches(of: regex).map { String($0.output) })
}

/// Names a PromQL expression uses that `/metrics` does not export (histogram series `_bucket`, `_sum`,
/// `_count` count as their histogram).
func unknownMetrics(in expression: String, exported: Set<String>) -> [String] {
    metricNames(in: expression).filter { name in
        if exported.contains(name) { return false }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            if exported.contains(String(name.dropLast(suffix.count))) { return false }
        }
        return true
    }.sorted()
}

/// Tables and views of the ledger, each with the words of its definitions in the migration SQL
/// (Sources/Ledger/Migrations.swift; a relation redefined by a later migration keeps every version's words).
func ledgerRelations() throws -> [String: Set<String>] {
    let source = try text("Sources/Ledger/Migrations.swift")
    let regex = /CREATE (?:OR REPLACE )?(?:TABLE|VIEW) (?:IF NOT EXISTS )?\\\([a-zA-Z]+\.qualified\("([a-z0-9_]+)"\)\)([^;]*);/
    var out: [String: Set<String>] = [:]
    for match in source.matches(of: regex) {
        out[String(match.output.1), default: []].formUnion(sqlWords(String(match.output.2)))
    }
    return out
}

func sqlWords(_ sql: String) -> Set<String> {
    Set(sql.lowercased().matches(of: /[a-z_][a-z0-9_]*/).map { String($0.output) })
}

let sqlVocabulary: Set<String> = [
    "select", "from", "where", "order", "by", "desc", "asc", "limit", "as", "and", "or", "not", "null", "is",
    "in", "group", "sum", "max", "min", "count", "avg", "date_trunc", "date", "month", "numeric", "case",
    "when", "then", "else", "end", "coalesce", "round",
]

/// Problems of one dashboard SQL query: relations that are not ledger tables or views (in `schema`), and
/// words that are neither SQL, an alias, nor a column of the relations it reads.
func sqlProblems(_ rawSQL: String, schema: String, relations: [String: Set<String>]) -> [String] {
    var sql = rawSQL.lowercased()
    sql = sql.replacing(/'[^']*'/, with: " ")           // string literals
    sql = sql.replacing(/\$__[a-z_]+/, with: " ")       // Grafana macros (their arguments stay and are checked)
    var problems: [String] = []
    var used: Set<String> = []
    for match in sql.matches(of: /([a-z_]+)\.([a-z0-9_]+)/) {
        let (qualifier, name) = (String(match.output.1), String(match.output.2))
        guard qualifier == schema else { continue }
        if relations[name] == nil { problems.append("unknown relation \(schema).\(name)") } else { used.insert(name) }
    }
    if used.isEmpty { problems.append("reads no ledger relation") }
    let aliases = Set(sql.matches(of: /\bas\s+([a-z_][a-z0-9_]*)/).map { String($0.output.1) })
    let columns = used.reduce(into: Set<String>()) { $0.formUnion(relations[$1] ?? []) }
    let allowed = sqlVocabulary.union(aliases).union(columns).union(used).union([schema])
    for word in sqlWords(sql) where !allowed.contains(word) {
        problems.append("unknown column or word '\(word)'")
    }
    return problems
}
