import Aggregation
import ArgumentParser
import Foundation
import Ledger

struct PartitionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partitions",
        abstract: "List the ledger's monthly partitions; optionally drop old ones or create ahead.",
        discussion: """
            Prints one line per partition: table, partition, bounds.
            --drop-older-than N (months, N >= 1) detaches, then drops, every partition whose whole range
            ends before the first day of (current month - N), UTC: with N = 13 in 2026-11, 2025-09 and
            older go, 2025-10 stays. The current and future months are never dropped. Only partitions
            named <table>_YYYY_MM with exactly that month's bounds are touched. --dry-run prints what
            would be dropped and changes nothing. Run it as a CronJob (deploy/k8s/cronjob-retention.yaml).
            """)

    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, help: ArgumentHelp("Drop partitions older than this many months (≥ 1).", valueName: "months"))
    var dropOlderThan: Int?

    @Flag(name: .long, help: "With --drop-older-than: print what would be dropped, change nothing.")
    var dryRun = false

    @Option(name: .long, help: ArgumentHelp("Also create the partitions of this month (YYYY-MM).", valueName: "month"))
    var create: [String] = []

    func validate() throws {
        if let dropOlderThan, dropOlderThan < 1 { throw ValidationError("--drop-older-than must be at least 1") }
        if dryRun, dropOlderThan == nil { throw ValidationError("--dry-run goes with --drop-older-than") }
        for month in create {
            do { _ = try Month(parsing: month) } catch let error as LedgerError { throw ValidationError(error.message) }
        }
    }

    func run() async throws {
        let schema = LedgerSchema(schema: try database.schemaName())
        let months = try create.map { try Month(parsing: $0) }
        let now = Date()
        let cutoff = try dropOlderThan.map { try LedgerSchema.retentionCutoff(dropOlderThanMonths: $0, now: now) }
        let dryRun = dryRun
        do {
            let worker = try await database.connectWorker()
            defer { worker.shutdown() }
            let (created, retention, partitions) = try await worker.run { connection in
                let created = try schema.ensurePartitions(months: months, on: connection)
                let retention = try cutoff.map { try schema.applyRetention(cutoff: $0, now: now, dryRun: dryRun, on: connection) }
                return (created, retention, try schema.listPartitions(on: connection))
            }
            for name in created { print("created \(name)") }
            if let retention {
                print("retention: keeping \(retention.cutoff) and later")
                for name in retention.dropped { print("\(dryRun ? "would drop" : "dropped") \(name)") }
                for skipped in retention.skipped { print("kept \(skipped.name): \(skipped.reason)") }
            }
            for partition in partitions { print(partition) }
        } catch {
            throw CLIFailure.report(error)
        }
    }
}
