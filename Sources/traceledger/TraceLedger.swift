import ArgumentParser

@main
struct TraceLedger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traceledger",
        abstract: "Kafka OpenTelemetry spans → an exact cost ledger in PostgreSQL.",
        subcommands: [PricingCommand.self, MigrateCommand.self, PartitionsCommand.self, MockKafkaCommand.self, RunCommand.self, LoadgenCommand.self, VerifyCommand.self, DevCommand.self, BenchConsumeCommand.self, BudgetCommand.self, BenchAPICommand.self])
}
