import ArgumentParser
import Foundation
import Pricing

/// `traceledger pricing …`: price catalog tools (docs/configuration.md).
struct PricingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pricing",
        abstract: "Price catalog tools.",
        subcommands: [Check.self, Import.self])

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

    /// `traceledger pricing import`: published prices → dated catalog entries, as a diff.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import published prices (AWS EC2 offer file, LiteLLM model prices) into the catalog as dated entries.",
            discussion: """
                Prints one line per imported price against the current catalog (+ added, ~ changed,
                = unchanged, ! skipped) and the counts; --write applies it (atomic replace of the file).
                New entries carry from: DATE, so spans before DATE keep their old prices. Numbers are
                converted from their text exactly (per-token prices × 10^6 by moving the decimal point);
                a price that cannot be written exactly with 12 fractional digits is skipped, not rounded.
                  --aws FILE --region R   AWS price-list offer file (…/AmazonEC2/current/R/index.json):
                                          on-demand, Linux, shared tenancy, pre-installed software NA
                  --models FILE           LiteLLM-style model price JSON (model_prices_and_context_window.json)
                Exit status: 0, or 1 when an input or the catalog cannot be read or edited.
                """)

        @Option(name: .long, help: ArgumentHelp("AWS EC2 price-list offer file (JSON).", valueName: "file"))
        var aws: String?

        @Option(name: .long, help: ArgumentHelp("The region of the --aws offer file (e.g. us-east-1).", valueName: "region"))
        var region: String?

        @Option(name: .long, help: ArgumentHelp("The region whose prices are a host type's usd_per_hour; other regions go under regions:.", valueName: "region"))
        var defaultRegion = "us-east-1"

        @Option(name: .long, help: ArgumentHelp("LiteLLM-style model price file (JSON).", valueName: "file"))
        var models: String?

        @Option(name: .long, help: ArgumentHelp("Only these litellm_provider values (comma list), e.g. openai,anthropic.", valueName: "list"))
        var providers: String?

        @Option(name: .long, help: ArgumentHelp("The catalog to compare with and update.", valueName: "file"))
        var catalog = "config/pricing.yaml"

        @Option(name: .long, help: ArgumentHelp("Effective date of the new entries: YYYY-MM-DD (00:00 UTC) or RFC 3339 (default: today, UTC).", valueName: "date"))
        var from: String?

        @Flag(name: .long, help: "Write the updated catalog (atomically).")
        var write = false

        @Flag(name: .long, help: "Also list every skipped input entry.")
        var verbose = false

        func validate() throws {
            guard aws != nil || models != nil else { throw ValidationError("give --aws FILE --region R and/or --models FILE") }
            if aws != nil, region?.isEmpty ?? true { throw ValidationError("--aws needs --region (the offer file's region, e.g. us-east-1)") }
            if let from, Self.instant(from) == nil {
                throw ValidationError("--from must be YYYY-MM-DD or an RFC 3339 date-time, got \(from.debugDescription)")
            }
        }

        static func instant(_ text: String) -> EffectiveInstant? {
            EffectiveInstant(rfc3339: text) ?? EffectiveInstant(rfc3339: text + "T00:00:00Z")
        }

        static func today() -> String {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
            let c = calendar.dateComponents([.year, .month, .day], from: Date())
            return String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
        }

        func run() throws {
            do {
                try runImport()
            } catch let error as PriceImportError {
                FileHandle.standardError.write(Data(("pricing import: \(error)\n").utf8))
                throw ExitCode(1)
            }
        }

        private func read(_ path: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PriceImportError(file: path, reason: "cannot read the file")
            }
            return [UInt8](data)
        }

        private func runImport() throws {
            guard let from = Self.instant(from ?? Self.today()) else { throw ValidationError("bad --from") }
            var computePrices: [ImportedComputePrice] = []
            var modelPrices: [ImportedModelPrice] = []
            var skips: [(String, ImportSkips)] = []
            if let aws, let region {
                let result = try AWSOfferReader.read(bytes: try read(aws), file: aws, region: region)
                computePrices = result.prices
                skips.append((aws, result.skipped))
            }
            if let models {
                let selected = providers.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
                let result = try LiteLLMPriceReader.read(bytes: try read(models), file: models, providers: selected)
                modelPrices = result.prices
                skips.append((models, result.skipped))
            }
            let current: String
            if FileManager.default.fileExists(atPath: catalog) {
                guard let text = String(data: Data(try read(catalog)), encoding: .utf8) else {
                    throw PriceImportError(file: catalog, reason: "the catalog is not UTF-8")
                }
                current = text
            } else {
                current = ""
            }
            let plan = try PriceImporter.plan(
                catalogText: current, catalogName: catalog, compute: computePrices, defaultRegion: defaultRegion,
                models: modelPrices, from: from)
            for line in plan.lines { print(line) }
            for (file, skipped) in skips where skipped.total > 0 {
                print("skipped in \(file): \(skipped.total)")
                for (reason, names) in skipped.byReason.sorted(by: { $0.key < $1.key }) {
                    print("  \(names.count)\t\(reason)" + (verbose ? ": " + names.joined(separator: ", ") : ""))
                }
            }
            print("\(catalog): \(plan.summary)")
            guard write else {
                if plan.updatedText != current { print("(dry run: --write applies it)") }
                return
            }
            guard plan.updatedText != current else { print("nothing to write"); return }
            do {
                try Data(plan.updatedText.utf8).write(to: URL(fileURLWithPath: catalog), options: .atomic)
            } catch {
                throw PriceImportError(file: catalog, reason: "cannot write: \(error.localizedDescription)")
            }
            print("wrote \(catalog)")
        }
    }
}
