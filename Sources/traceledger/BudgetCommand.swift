import ArgumentParser
import Budgets
import Foundation
import Ledger
import Pipeline

/// `traceledger budget …`: 24-hour budget tools (docs/budgets.md).
struct BudgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "budget",
        abstract: "24-hour budget tools.",
        subcommands: [Check.self])

    /// `traceledger budget check`: each budgeted domain's spend over the last 24 hours against its budget.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare each budgeted domain's spend over the last 24 hours with its budget (for a CronJob).",
            discussion: """
                The budgets file is --budgets FILE, else TRACELEDGER_BUDGETS_FILE, else budgets.file of --config FILE \
                (default config/budgets.yaml). The database is DATABASE_URL or the PG* variables; the schema is \
                --schema, else TRACELEDGER_DATABASE_SCHEMA, else database.schema of --config, else traceledger.
                Prints one row per budget (domain, spend, budget, use %, level) and exits:
                  0  every domain is under its warn_at threshold
                  1  at least one domain is at or above warn_at (a warning), none at 100 %
                  2  at least one domain is at or above 100 % of its budget (a breach)
                  3  the check could not run (bad budgets file, database unreachable, ...)
                """)

        @Option(name: .long, help: ArgumentHelp("Budgets file (config/budgets.yaml format).", valueName: "file"))
        var budgets: String?

        @Option(name: .long, help: ArgumentHelp("YAML configuration file (for budgets.file, database.schema).", valueName: "file"))
        var config: String?

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let statuses: [BudgetStatus]
            do {
                let (path, schema) = try resolve()
                let file = try BudgetFile.load(path: path)
                let store = BudgetStore(schema: schema)
                let worker = try await database.connectWorker()
                defer { worker.shutdown() }
                let budgets = file.budgets
                statuses = try await worker.run { connection in try store.statuses(of: budgets, on: connection) }
            } catch let error as BudgetError {
                FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                throw ExitCode(3)
            } catch let error as ExitCode {
                throw error
            } catch {
                _ = CLIFailure.report(error)
                throw ExitCode(3)
            }
            print(Self.table(statuses))
            let worst = statuses.map(\.level).max() ?? .ok
            switch worst {
            case .ok: return
            case .warn: throw ExitCode(1)
            case .breach: throw ExitCode(2)
            }
        }

        /// The budgets file path and the schema, by the precedence the help text states.
        private func resolve() throws -> (path: String, schema: SchemaName) {
            let environment = ProcessInfo.processInfo.environment
            let configuration = try loadConfiguration(file: config)
            var path = budgets ?? configuration.budgetsFile
            // A relative budgets.file from the config file: as given when it exists (relative to the working
            // directory, as the shipped config/traceledger.yaml writes it), else relative to the config file.
            if budgets == nil, environment[Configuration.environmentName(of: "budgets.file")] == nil,
                let config, !path.hasPrefix("/"), !FileManager.default.fileExists(atPath: path)
            {
                let beside = URL(fileURLWithPath: config).deletingLastPathComponent().appendingPathComponent(path).path
                if FileManager.default.fileExists(atPath: beside) { path = beside }
            }
            let schema: SchemaName
            if database.schema != nil || environment["TRACELEDGER_DATABASE_SCHEMA"] != nil {
                schema = try database.schemaName()
            } else {
                do { schema = try SchemaName(configuration.databaseSchema) } catch let error as LedgerError {
                    throw ValidationError(error.message)
                }
            }
            return (path, schema)
        }

        /// domain, spend (USD, 24 h), budget (USD), use %, level: aligned columns.
        static func table(_ statuses: [BudgetStatus]) -> String {
            var rows = [["domain", "spend_usd_24h", "budget_usd", "use_%", "level"]]
            for status in statuses {
                rows.append([
                    status.domain, ExactDecimal.text(billionths: status.spendNano), status.budget.usdText,
                    status.usePercentText, status.level.rawValue,
                ])
            }
            if statuses.isEmpty { rows.append(["(no budgets)", "", "", "", ""]) }
            var widths = [Int](repeating: 0, count: 5)
            for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
            return rows.map { row in
                row.enumerated().map { i, cell in
                    let pad = String(repeating: " ", count: widths[i] - cell.count)
                    // Text left, numbers right.
                    return (i == 0 || i == 4) ? cell + pad : pad + cell
                }.joined(separator: "  ").replacingOccurrences(of: " +$", with: "", options: .regularExpression)
            }.joined(separator: "\n")
        }
    }
}
