import ArgumentParser
import Foundation
import Ledger

struct PartitionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partitions",
        abstract: "List the ledger's monthly partitions; optionally drop old ones or create ahead.",
        discussion: """
            Prints one line per partition: table, partition, bounds.
            --drop-older-than N drops every partition whose month is before (current month - N).
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, help: ArgumentHelp("Drop partitions older than this many months (≥ 1).", valueName: "months"))
    var dropOlderThan: Int?

    @Option(name: .long, help: ArgumentHelp("Also create the partitions of this month (YYYY-MM).", valueName: "month"))
    var create: [String] = []

    func validate() throws {
        if let dropOlderThan, dropOlderThan < 1 { throw ValidationError("--drop-older-than must be at least 1") }
        for month in create {
            do { _ = try Month(parsing: month) } catch let error as LedgerError { throw ValidationError(error.message) }
        }
    }

    func run() async throws {
        let schema = LedgerSchema(schema: try database.schemaName())
        let months = try create.map { try Month(parsing: $0) }
        let cutoff = try dropOlderThan.map { try Month(containing: Date()).adding(months: -$0) }
        do {
            let worker = try await database.connectWorker()
            defer { worker.shutdown() }
            let (created, dropped, partitions) = try await worker.run { connection in
                let created = try schema.ensurePartitions(months: months, on: connection)
                let dropped = try cutoff.map { try schema.dropPartitions(olderThan: $0, on: connection) } ?? []
                return (created, dropped, try schema.listPartitions(on: connection))
            }
            for name in created { print("created \(name)") }
            for name in dropped { print("dropped \(name)") }
            for partition in partitions { print(partition) }
        } catch {
            throw CLIFailure.report(error)
        }
    }
}
