import ArgumentParser
import Foundation
import Pricing

/// `traceledger pricing …`: price catalog tools (docs/configuration.md).
struct PricingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pricing",
        abstract: "Price catalog tools.",
        subcommands: [Check.self])

    /// `traceledger pricing check FILE`: validate a catalog and print it.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a price catalog (config/pricing.yaml format) and print its entries.",
            discussion: """
                Prints every entry with its effective date and prices and exits 0, or prints
                FILE:LINE: reason on standard error and exits 1.
                """)

        @Argument(help: "The catalog file to check.")
        var file: String

        func run() throws {
            do {
                let catalog = try PriceCatalog.load(path: file)
                print(catalog.summary)
            } catch {
                FileHandle.standardError.write(Data((error.description + "\n").utf8))
                throw ExitCode(1)
            }
        }
    }
}
