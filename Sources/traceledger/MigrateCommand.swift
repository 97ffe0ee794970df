import ArgumentParser
import Foundation
import Ledger

/// Database options shared by the commands that talk to PostgreSQL.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "PostgreSQL schema of the ledger (env TRACELEDGER_DATABASE_SCHEMA, default traceledger).",
            valueName: "name"))
    var schema: String?

    /// The validated schema: the flag, else `TRACELEDGER_DATABASE_SCHEMA`, else `traceledger`.
    func schemaName() throws -> SchemaName {
        let raw = schema ?? ProcessInfo.processInfo.environment["TRACELEDGER_DATABASE_SCHEMA"]
        guard let raw, !raw.isEmpty else { return .default }
        do { return try SchemaName(raw) } catch let error as LedgerError {
            throw ValidationError(error.message)
        }
    }

    /// Opens a worker thread with a connection from `DATABASE_URL` / `PG*`, failing with one actionable line.
    func connectWorker() async throws -> LedgerWorkerThread {
        let worker = LedgerWorkerThread(name: "tl.cli", conninfo: PGConnection.conninfo())
        do {
            _ = try await worker.run { connection in connection.serverVersion }
        } catch let error as LedgerError where error.code == .connectionFailed {
            worker.shutdown()
            throw CLIFailure(
                "cannot connect to PostgreSQL (\(error.message)): set DATABASE_URL=postgresql://user@host:port/db "
                    + "or PGHOST/PGPORT/PGUSER/PGDATABASE")
        }
        return worker
    }
}

/// An error that the CLI prints as one `error: …` line before exiting with status 1.
struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }

    static func report(_ error: any Error) -> ExitCode {
        let text: String
        if let failure = error as? CLIFailure {
            text = failure.description
        } else if let ledger = error as? LedgerError {
            text = ledger.description
        } else {
            text = String(describing: error)
        }
        FileHandle.standardError.write(Data("error: \(text)\n".utf8))
        return ExitCode(1)
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the ledger schema, and the partitions of the previous, current and next 2 months.",
        discussion: """
            The database is DATABASE_URL, else the PG* variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD).
            Idempotent: a second run applies nothing. Concurrent runs are serialised by an advisory lock.
            """)

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let schema = LedgerSchema(schema: try database.schemaName())
        do {
            let worker = try await database.connectWorker()
            defer { worker.shutdown() }
            let report = try await worker.run { connection in try schema.migrate(on: connection) }
            if report.changedNothing {
                print("schema \(schema.schema): up to date, nothing applied")
            } else {
                for migration in report.applied { print("applied migration \(migration)") }
                for partition in report.partitionsCreated { print("created partition \(partition)") }
            }
        } catch {
            throw CLIFailure.report(error)
        }
    }
}
