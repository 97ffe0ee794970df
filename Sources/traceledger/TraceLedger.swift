import ArgumentParser
import Foundation
import Pipeline

@main
struct TraceLedger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traceledger",
        abstract: "Kafka OpenTelemetry spans → an exact cost ledger in PostgreSQL.",
        subcommands: [PricingCommand.self, MigrateCommand.self, PartitionsCommand.self, MockKafkaCommand.self, RunCommand.self, LoadgenCommand.self, VerifyCommand.self, DevCommand.self, BenchConsumeCommand.self, BudgetCommand.self, BenchAPICommand.self])

    /// Tunes glibc malloc (``MallocTuning``: one arena, fixed mmap threshold) before any other thread starts, then runs the command.
    static func main() async {
        MallocTuning.apply(environment: ProcessInfo.processInfo.environment)
        await main(nil)
    }
}
