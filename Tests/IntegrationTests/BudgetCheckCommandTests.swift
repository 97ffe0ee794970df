import Foundation
import Testing
import TestSupport

/// `traceledger budget check` as a CronJob runs it: the real binary (TRACELEDGER_BIN) against a real
/// PostgreSQL, its exit status read from the process.
@Suite(
    "BudgetCheckCommand",
    .enabled(if: ProcessInfo.processInfo.environment["DATABASE_URL"] != nil, "needs DATABASE_URL (scripts/with-postgres.sh)"),
    .enabled(if: ProcessInfo.processInfo.environment["TRACELEDGER_BIN"] != nil, "needs TRACELEDGER_BIN (scripts/test.sh)"))
struct BudgetCheckCommandTests {
    func check(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> CommandResult {
        try await onThread {
            try runTraceledger(["budget", "check"] + arguments, environment: environmentWithoutTraceledgerSettings(adding: extra))
        }
    }

    @Test("exit 0 under warn_at, 1 at warn_at, 2 at 100 %, exactly at the nano-dollar")
    func exitCodes() async throws {
        let scratch = try await ScratchSchema.migratedForBudgets()
        let file = try budgetTempFile(
            """
            budgets:
              - {domain: "POST /checkout", usd_per_24h: "10.00", warn_at: 0.8}
              - {domain: "GET /search", usd_per_24h: "0.000001"}
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let args = ["--budgets", file, "--schema", scratch.schema.name]

        // No spend at all: every domain at 0 %.
        var run = try await check(args)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("POST /checkout") && run.stdout.contains("GET /search"))

        try await scratch.setSpend("POST /checkout", nano: 7_999_999_999)
        run = try await check(args)
        #expect(run.status == 0, "one nano below 80 % is under: \(run.stdout)")
        #expect(run.stdout.contains("7.999999999"))

        try await scratch.setSpend("POST /checkout", nano: 8_000_000_000)
        run = try await check(args)
        #expect(run.status == 1, "exactly 80 % is a warning: \(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("80.0") && run.stdout.contains("warn"))

        try await scratch.setSpend("GET /search", nano: 1_000)
        run = try await check(args)
        #expect(run.status == 2, "exactly 100 % is a breach: \(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("breach"))

        // Spend outside the 24-hour window does not count.
        try await scratch.setSpend("GET /search", nano: 0)
        try await scratch.setSpend("POST /checkout", nano: 0)
        _ = try await scratch.query(
            """
            INSERT INTO \(scratch.table("domain_hourly")) (hour, transaction, cost_nusd)
            VALUES (date_trunc('hour', now(), 'UTC') - interval '24 hours', 'POST /checkout', 99000000000)
            """)
        run = try await check(args)
        #expect(run.status == 0, "an hour 24 h back is outside the window: \(run.stdout)")
        await scratch.drop()
    }

    @Test("the budgets file comes from TRACELEDGER_BUDGETS_FILE, then budgets.file of --config")
    func fileSources() async throws {
        let scratch = try await ScratchSchema.migratedForBudgets()
        try await scratch.setSpend("d", nano: 5_000_000_000)
        let breach = try budgetTempFile("budgets:\n  - {domain: d, usd_per_24h: \"5\"}\n")
        let under = try budgetTempFile("budgets:\n  - {domain: d, usd_per_24h: \"500\"}\n")
        let config = try budgetTempFile(
            "budgets:\n  file: \(URL(fileURLWithPath: under).lastPathComponent)\ndatabase:\n  schema: \(scratch.schema.name)\n")
        defer { for path in [breach, under, config] { try? FileManager.default.removeItem(atPath: path) } }

        var run = try await check(["--schema", scratch.schema.name], environment: ["TRACELEDGER_BUDGETS_FILE": breach])
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        // budgets.file relative to the config file's directory; schema from the config.
        run = try await check(["--config", config])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        // The flag wins over both.
        run = try await check(["--config", config, "--budgets", breach], environment: ["TRACELEDGER_BUDGETS_FILE": under])
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        await scratch.drop()
    }

    @Test("a bad budgets file exits 3 with the file, line and key")
    func badFile() async throws {
        let file = try budgetTempFile("budgets:\n  - {domain: d, usd_per_24h: \"1.5\", warn_at: 2}\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let run = try await check(["--budgets", file])
        #expect(run.status == 3)
        #expect(run.stderr.contains("\(file):2: budgets[0].warn_at:"), "\(run.stderr)")
    }
}
