public import Foundation
internal import Yams

/// One domain's 24-hour budget, exact.
///
/// Guarantees: `usdPer24hNano` > 0 and ≤ 10⁹ USD in nano-USD; 0 < `warnAtBillionths` ≤ 10⁹ (warn_at × 10⁹).
public struct Budget: Sendable, Equatable {
    /// The domain: a root span (transaction) name as `domain_hourly.transaction` holds it.
    public var domain: String
    public var usdPer24hNano: Int64
    public var warnAtBillionths: Int64

    public init(domain: String, usdPer24hNano: Int64, warnAtBillionths: Int64 = 800_000_000) {
        self.domain = domain
        self.usdPer24hNano = usdPer24hNano
        self.warnAtBillionths = warnAtBillionths
    }

    /// `usd_per_24h` as exact decimal text with 9 fractional digits (what PostgreSQL's numeric(30,9) takes).
    public var usdText: String { ExactDecimal.text(billionths: Int128(usdPer24hNano)) }
    /// `warn_at` as exact decimal text.
    public var warnAtText: String { ExactDecimal.shortText(billionths: Int128(warnAtBillionths)) }
}

/// The validated content of `config/budgets.yaml` (docs/budgets.md):
/// `budgets: [{domain, usd_per_24h: "15.00", warn_at: 0.8}]` and an optional `webhook: URL`.
///
/// Guarantees: domains are unique and non-empty; every amount is exact (see ``Budget``); the webhook, when
/// present, is an absolute `http` or `https` URL with a host. Unknown keys are refused, never ignored.
public struct BudgetFile: Sendable, Equatable {
    public var budgets: [Budget]
    public var webhook: URL?

    public init(budgets: [Budget], webhook: URL? = nil) {
        self.budgets = budgets
        self.webhook = webhook
    }

    /// The default `warn_at` (0.8) in billionths.
    public static let defaultWarnAtBillionths: Int64 = 800_000_000
    /// Domains a file may hold at most (every one is a gauge label and a row per check).
    public static let domainsMax = 10_000

    /// Reads and parses the file at `path`.
    ///
    /// - Throws: ``BudgetError`` naming the file, the line and the key.
    public static func load(path: String) throws(BudgetError) -> BudgetFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw BudgetError(
                code: .unreadable, file: path, line: 0, key: "budgets.file",
                reason: "cannot read the budgets file (set budgets.file or TRACELEDGER_BUDGETS_FILE): \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    /// Parses YAML text; `file` names it in errors.
    ///
    /// - Throws: ``BudgetError`` naming the file, the line and the key.
    public static func parse(_ yaml: String, file: String) throws(BudgetError) -> BudgetFile {
        try BudgetFileParser(file: file).parse(yaml)
    }
}

/// YAML text → ``BudgetFile``, refusing anything outside the format with the line, key and reason.
struct BudgetFileParser {
    let file: String

    private func fail(_ code: BudgetError.Code, _ node: Node?, _ key: String?, _ reason: String) -> BudgetError {
        BudgetError(code: code, file: file, line: node?.mark?.line ?? 0, key: key, reason: reason)
    }

    func parse(_ yaml: String) throws(BudgetError) -> BudgetFile {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let e as YamlError {
            throw translate(e)
        } catch {
            throw BudgetError(code: .yamlSyntax, file: file, line: 0, reason: "YAML: \(error)")
        }
        guard let root else {
            throw BudgetError(code: .invalidStructure, file: file, line: 1, key: "budgets", reason: "empty file (expected a mapping with budgets and optional webhook)")
        }
        guard let top = root.mapping else {
            throw fail(.invalidStructure, root, nil, "the top level must be a mapping with keys budgets, webhook")
        }
        var budgets: [Budget]?
        var webhook: URL?
        for (keyNode, value) in top {
            switch try key(keyNode, nil) {
            case "budgets": budgets = try budgetList(value)
            case "webhook": webhook = try webhookURL(value)
            case let other:
                throw fail(.invalidStructure, keyNode, other, "unknown key (expected budgets, webhook)")
            }
        }
        guard let budgets else {
            throw fail(.invalidStructure, root, "budgets", "missing (an empty list `budgets: []` means no budgets)")
        }
        return BudgetFile(budgets: budgets, webhook: webhook)
    }

    private func key(_ node: Node, _ parent: String?) throws(BudgetError) -> String {
        guard let s = node.scalar, !s.string.isEmpty else {
            throw fail(.invalidStructure, node, parent, "a key must be a plain non-empty string")
        }
        return s.string
    }

    private func budgetList(_ node: Node) throws(BudgetError) -> [Budget] {
        if let s = node.scalar, s.string.isEmpty || s.string == "~" || s.string == "null" { return [] }
        guard let sequence = node.sequence else {
            throw fail(.invalidStructure, node, "budgets", "must be a list of {domain, usd_per_24h, warn_at}")
        }
        guard sequence.count <= BudgetFile.domainsMax else {
            throw fail(.invalidStructure, node, "budgets", "at most \(BudgetFile.domainsMax) budgets")
        }
        var seen: [String: Int] = [:]
        var out: [Budget] = []
        for (index, entry) in sequence.enumerated() {
            let budget = try budgetEntry(entry, "budgets[\(index)]")
            if let first = seen[budget.domain] {
                throw fail(.duplicateDomain, entry, "budgets[\(index)].domain", "domain '\(budget.domain)' already has a budget (line \(first))")
            }
            seen[budget.domain] = entry.mark?.line ?? 0
            out.append(budget)
        }
        return out
    }

    private func budgetEntry(_ node: Node, _ path: String) throws(BudgetError) -> Budget {
        guard let mapping = node.mapping else {
            throw fail(.invalidStructure, node, path, "must be a mapping {domain, usd_per_24h, warn_at}")
        }
        var domain: String?
        var usd: Int64?
        var warnAt = BudgetFile.defaultWarnAtBillionths
        for (keyNode, value) in mapping {
            let name = try key(keyNode, path)
            let keyPath = "\(path).\(name)"
            switch name {
            case "domain":
                guard let s = value.scalar, !s.string.isEmpty else {
                    throw fail(.invalidStructure, value, keyPath, "must be a non-empty string (a root span name)")
                }
                guard s.string.utf8.count <= 1024 else {
                    throw fail(.invalidStructure, value, keyPath, "longer than 1024 bytes")
                }
                domain = s.string
            case "usd_per_24h":
                guard let s = value.scalar, let nano = ExactDecimal.billionths(s.string) else {
                    throw fail(.invalidAmount, value, keyPath, "expected a decimal string in USD like \"15.00\" (at most 9 decimals, at most 1000000000), got '\(value.scalar?.string ?? "a non-scalar")'")
                }
                guard nano > 0 else { throw fail(.invalidAmount, value, keyPath, "must be greater than 0") }
                usd = nano
            case "warn_at":
                guard let s = value.scalar, let ratio = ExactDecimal.billionths(s.string) else {
                    throw fail(.invalidAmount, value, keyPath, "expected a decimal in (0, 1] like 0.8, got '\(value.scalar?.string ?? "a non-scalar")'")
                }
                guard ratio > 0, ratio <= 1_000_000_000 else {
                    throw fail(.invalidAmount, value, keyPath, "must be in (0, 1], got '\(s.string)'")
                }
                warnAt = ratio
            default:
                throw fail(.invalidStructure, keyNode, keyPath, "unknown key (expected domain, usd_per_24h, warn_at)")
            }
        }
        guard let domain else { throw fail(.invalidStructure, node, "\(path).domain", "missing") }
        guard let usd else { throw fail(.invalidStructure, node, "\(path).usd_per_24h", "missing") }
        return Budget(domain: domain, usdPer24hNano: usd, warnAtBillionths: warnAt)
    }

    private func webhookURL(_ node: Node) throws(BudgetError) -> URL? {
        guard let s = node.scalar else { throw fail(.invalidWebhook, node, "webhook", "must be a URL string") }
        if s.string.isEmpty || s.string == "~" || s.string == "null" { return nil }
        guard let url = URL(string: s.string), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw fail(.invalidWebhook, node, "webhook", "expected an absolute http:// or https:// URL, got '\(s.string)'")
        }
        return url
    }

    private func translate(_ e: YamlError) -> BudgetError {
        switch e {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let ctx = context.map { "\($0.text): " } ?? ""
            return BudgetError(code: .yamlSyntax, file: file, line: mark.line, reason: "YAML: \(ctx)\(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            return BudgetError(
                code: .invalidStructure, file: file, line: context.mark.line, key: duplicates.joined(separator: ", "),
                reason: "duplicate key in one mapping (first occurrence here)")
        default:
            return BudgetError(code: .yamlSyntax, file: file, line: 1, reason: "YAML: \(e)")
        }
    }
}
