import Foundation
import Ledger
import Logging

/// The read API over the ledger: validates path and query input, reads through a ``LedgerReadPool``
/// (never on an event loop: the pool's own threads run libpq), and builds the JSON answers of
/// `docs/http-api.md`.
///
/// Guarantees: input reaches SQL only as statement parameters; every failure becomes an
/// ``APIResponse`` (400 bad input, 404 unknown, 503 pool saturated / database down / statement timeout,
/// 500 anything else, logged); money is written as `*_usd` decimal strings with 9 decimals plus exact
/// `*_nusd` integers.
struct LedgerAPI: Sendable {
    let pool: LedgerReadPool
    let reader: LedgerReader
    let logger: Logger

    /// Longest accepted session id, in UTF-8 bytes.
    static let sessionIDMaxBytes = 256

    // MARK: input

    /// 32 hex digits (either case), not all zero → 16 bytes.
    static func traceID(_ text: String) throws(APIRequestError) -> [UInt8] {
        let bytes = Array(text.utf8)
        guard bytes.count == 32 else { throw .badRequest("trace id must be 32 hex digits") }
        var out: [UInt8] = []
        out.reserveCapacity(16)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var i = 0
        while i < 32 {
            guard let hi = nibble(bytes[i]), let lo = nibble(bytes[i + 1]) else {
                throw .badRequest("trace id must be 32 hex digits")
            }
            out.append(hi << 4 | lo)
            i += 2
        }
        guard out.contains(where: { $0 != 0 }) else { throw .badRequest("the all-zero trace id is invalid") }
        return out
    }

    /// A session id as stored: 1...256 UTF-8 bytes, no control characters.
    static func sessionID(_ text: String) throws(APIRequestError) -> String {
        guard !text.isEmpty else { throw .badRequest("empty session id") }
        guard text.utf8.count <= sessionIDMaxBytes else { throw .badRequest("session id longer than \(sessionIDMaxBytes) bytes") }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .badRequest("session id contains control characters")
        }
        return text
    }

    static func amount(_ text: String, field: String) throws(APIRequestError) -> Int128 {
        do {
            return try USDDecimal.parse(text)
        } catch {
            throw .badRequest("\(field): \(error.description)")
        }
    }

    static func window(_ text: String?) throws(APIRequestError) -> APIWindow {
        do {
            return try APIWindow(parsing: text ?? "24h")
        } catch {
            throw .badRequest(error.description)
        }
    }

    // MARK: money

    static func usd(_ nanos: Int128) -> JSONValue { .string(USDDecimal.format(nanoUSD: nanos)) }

    /// spend / budget with 6 decimals (half up), the budget pro-rated to the window; nil without a
    /// positive budget or on overflow.
    static func utilization(costNanoUSD: Int128, budgetPer24hNanoUSD: Int128?, windowMinutes: Int) -> JSONValue {
        guard let budget = budgetPer24hNanoUSD, budget > 0 else { return .null }
        // ratio = cost / (budget × minutes / 1440) = cost × 1440 / (budget × minutes).
        let (n1, o1) = costNanoUSD.multipliedReportingOverflow(by: 1440 * 1_000_000)
        let (d, o2) = budget.multipliedReportingOverflow(by: Int128(windowMinutes))
        guard !o1, !o2, d > 0 else { return .null }
        let negative = n1 < 0
        let micro = (n1.magnitude + d.magnitude / 2) / d.magnitude  // half up, in millionths
        var frac = String(micro % 1_000_000)
        frac = String(repeating: "0", count: 6 - frac.count) + frac
        return .numberLiteral((negative ? "-" : "") + String(micro / 1_000_000) + "." + frac)
    }

    // MARK: answers

    func transaction(_ rawID: String) async -> APIResponse {
        await answer {
            let id = try Self.traceID(rawID)
            let reader = self.reader
            guard let t = try await pool.read({ c in try reader.transactionDetail(traceID: id, on: c) }) else {
                throw APIRequestError.notFound("no transaction with trace id \(rawID.lowercased())")
            }
            return .json(
                200,
                .object([
                    ("trace_id", .string(t.traceIDHex)),
                    ("transaction", .optionalString(t.transaction)),
                    ("service", .optionalString(t.service)),
                    ("environment", .optionalString(t.environment)),
                    ("session_id", .optionalString(t.sessionID)),
                    ("cost_usd", Self.usd(t.costNanoUSD)), ("cost_nusd", .integer(t.costNanoUSD)),
                    ("compute_usd", Self.usd(t.computeNanoUSD)), ("compute_nusd", .integer(t.computeNanoUSD)),
                    ("serverless_usd", Self.usd(t.serverlessNanoUSD)), ("serverless_nusd", .integer(t.serverlessNanoUSD)),
                    ("llm_usd", Self.usd(t.llmNanoUSD)), ("llm_nusd", .integer(t.llmNanoUSD)),
                    ("span_count", .integer(t.spanCount)), ("error_count", .integer(t.errorCount)),
                    ("unpriced_count", .integer(t.unpricedCount)),
                    ("input_tokens", .integer(t.inputTokens)), ("output_tokens", .integer(t.outputTokens)),
                    ("first_start", .optionalString(t.firstStart)), ("last_end", .optionalString(t.lastEnd)),
                    ("updated_at", .optionalString(t.updatedAt)),
                ]))
        }
    }

    func session(_ rawID: String) async -> APIResponse {
        await answer {
            let id = try Self.sessionID(rawID)
            let reader = self.reader
            guard let s = try await pool.read({ c in try reader.sessionDetail(id: id, on: c) }) else {
                throw APIRequestError.notFound("no session with this id")
            }
            return .json(
                200,
                .object([
                    ("session_id", .string(s.sessionID)),
                    ("cost_usd", Self.usd(s.costNanoUSD)), ("cost_nusd", .integer(s.costNanoUSD)),
                    ("input_tokens", .integer(s.inputTokens)), ("output_tokens", .integer(s.outputTokens)),
                    ("span_count", .integer(s.spanCount)),
                    ("depth_max", s.depthMax.map { .integer($0) } ?? .null),
                    ("agent_count", .integer(s.agentCount)), ("ceiling_hits", .integer(s.ceilingHits)),
                    ("parent_session", .optionalString(s.parentSession)),
                    ("child_sessions", .array(s.childSessions.map { .string($0) })),
                    ("first_start", .optionalString(s.firstStart)), ("last_end", .optionalString(s.lastEnd)),
                    ("updated_at", .optionalString(s.updatedAt)),
                ]))
        }
    }

    func domains(window rawWindow: String?) async -> APIResponse {
        await answer {
            let window = try Self.window(rawWindow)
            let reader = self.reader
            let w = try await pool.read { c in try reader.domainWindow(hours: window.hours, on: c) }
            let total = w.domains.reduce(Int128(0)) { $0 + $1.costNanoUSD } + w.pendingNanoUSD
            let unattributed = w.domains.first(where: { $0.transaction == "(unattributed)" })?.costNanoUSD ?? 0
            return .json(
                200,
                .object([
                    ("window", .string(window.text)),
                    ("as_of", .optionalString(w.asOf)),
                    ("domains", .array(w.domains.map { d in
                        .object([
                            ("transaction", .string(d.transaction)),
                            ("cost_usd", Self.usd(d.costNanoUSD)), ("cost_nusd", .integer(d.costNanoUSD)),
                            ("span_count", .integer(d.spanCount)), ("trace_count", .integer(d.traceCount)),
                            ("budget_usd", d.budgetPer24hNanoUSD.map { Self.usd($0) } ?? .null),
                            ("budget_nusd", d.budgetPer24hNanoUSD.map { .integer($0) } ?? .null),
                            ("utilization", Self.utilization(
                                costNanoUSD: d.costNanoUSD, budgetPer24hNanoUSD: d.budgetPer24hNanoUSD,
                                windowMinutes: window.hours * 60)),
                        ])
                    })),
                    ("pending_usd", Self.usd(w.pendingNanoUSD)), ("pending_nusd", .integer(w.pendingNanoUSD)),
                    ("unattributed_share", Self.share(unattributed, of: total)),
                    ("pending_share", Self.share(w.pendingNanoUSD, of: total)),
                ]))
        }
    }

    /// part / total with 6 decimals (half up), null when total ≤ 0.
    static func share(_ part: Int128, of total: Int128) -> JSONValue {
        guard total > 0 else { return .null }
        return utilization(costNanoUSD: part, budgetPer24hNanoUSD: total, windowMinutes: 1440)
    }

    func models(window rawWindow: String?) async -> APIResponse {
        await answer {
            let window = try Self.window(rawWindow)
            let reader = self.reader
            let m = try await pool.read { c in try reader.modelWindow(hours: window.hours, on: c) }
            return .json(
                200,
                .object([
                    ("window", .string(window.text)),
                    ("as_of", .optionalString(m.asOf)),
                    ("models", .array(m.rows.map { r in
                        .object([
                            ("model", .string(r.model)), ("service", .string(r.service)),
                            ("cost_usd", Self.usd(r.costNanoUSD)), ("cost_nusd", .integer(r.costNanoUSD)),
                            ("input_tokens", .integer(r.inputTokens)), ("output_tokens", .integer(r.outputTokens)),
                            ("calls", .integer(r.calls)),
                        ])
                    })),
                ]))
        }
    }

    /// The body of `POST /v1/sessions/{id}/precommit`.
    struct PrecommitBody: Decodable {
        var ceiling_usd: String
        var estimate_usd: String
    }

    func precommit(_ rawID: String, body: [UInt8]) async -> APIResponse {
        await answer {
            let id = try Self.sessionID(rawID)
            let parsed: PrecommitBody
            do {
                parsed = try JSONDecoder().decode(PrecommitBody.self, from: Data(body))
            } catch {
                throw APIRequestError.badRequest(
                    "body must be {\"ceiling_usd\": \"<decimal>\", \"estimate_usd\": \"<decimal>\"} (decimal strings)")
            }
            let ceiling = try Self.amount(parsed.ceiling_usd, field: "ceiling_usd")
            let estimate = try Self.amount(parsed.estimate_usd, field: "estimate_usd")
            let reader = self.reader
            let spend = try await pool.read { c in try reader.sessionSpend(id: id, on: c) }
            // Safe: spent is a sum the database holds within Int128 (checked on read); the inputs are ≤ 1e21.
            let (after, overflow) = spend.spentNanoUSD.addingReportingOverflow(estimate)
            let allowed = !overflow && after <= ceiling
            return .json(
                200,
                .object([
                    ("allowed", .bool(allowed)),
                    ("spent_usd", Self.usd(spend.spentNanoUSD)), ("spent_nusd", .integer(spend.spentNanoUSD)),
                    ("remaining_usd", Self.usd(ceiling - spend.spentNanoUSD)),
                    ("remaining_nusd", .integer(ceiling - spend.spentNanoUSD)),
                    ("ceiling_usd", Self.usd(ceiling)), ("ceiling_nusd", .integer(ceiling)),
                    ("estimate_usd", Self.usd(estimate)), ("estimate_nusd", .integer(estimate)),
                    ("as_of", .optionalString(spend.asOf)),
                ]))
        }
    }

    // MARK: errors

    /// Runs `body`, turning every failure into its answer.
    func answer(_ body: () async throws -> APIResponse) async -> APIResponse {
        do {
            return try await body()
        } catch let error as APIRequestError {
            return .error(error.status, error.message)
        } catch let error as LedgerError {
            return Self.response(for: error, logger: logger)
        } catch {
            logger.error("API read failed", metadata: ["error": "\(error)"])
            return .error(500, "internal error")
        }
    }

    static func response(for error: LedgerError, logger: Logger) -> APIResponse {
        if error.code == .workerBusy {
            return .error(503, "read pool saturated, retry later", retryAfterSeconds: 1)
        }
        if error.code == .connectionFailed || error.code == .connectionLost || error.code == .workerStopped {
            logger.warning("API read: database unavailable", metadata: ["error": "\(error.message)"])
            return .error(503, "database unavailable", retryAfterSeconds: 1)
        }
        if error.sqlState == "57014" {
            return .error(503, "statement timeout", retryAfterSeconds: 1)
        }
        logger.error("API read failed", metadata: ["error": "\(error)"])
        return .error(500, "internal error")
    }
}
