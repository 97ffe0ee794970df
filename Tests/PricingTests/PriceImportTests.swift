import Foundation
import Testing
import TestSupport

@testable import Pricing

// `traceledger pricing import`: fixtures of both input formats → catalog entries. Expected prices are
// computed independently with Foundation's `Decimal` (base 10, exact for these magnitudes) from the
// fixtures' number TEXTS, written out below as they appear in the files.

private func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return [UInt8](try Data(contentsOf: url))
}

private func shippedCatalog() throws -> String {
    try String(contentsOf: shippedPricingFile, encoding: .utf8)
}

/// The fixture's on-demand Linux shared prices (USD per hour), as written in aws-ec2-us-east-1.json.
private let awsExpected: [String: String] = [
    "m5.large": "0.0960000000", "c5.xlarge": "0.1735000000", "m7i.large": "0.1008000000",
    "m5.metal": "4.6080000000", "g5.xlarge": "1.0060000000",
]

/// The fixture's per-token prices (input, output, cache read, cache write), as written in
/// litellm-model-prices.json.
private let modelsExpected: [String: [String?]] = [
    "gpt-4o": ["2.5e-06", "1e-05", "1.25e-06", nil],
    "gpt-4o-2024-08-06": ["2.5e-06", "1e-05", "1.25e-06", nil],
    "gpt-4o-mini": ["1.5e-07", "6e-07", "7.5e-08", nil],
    "gpt-5": ["1.25e-06", "1e-05", "1.25e-07", nil],
    "claude-3-5-sonnet-20241022": ["3e-06", "1.5e-05", "3e-07", "3.75e-06"],
    "claude-opus-4-1-20250805": ["1.5e-05", "7.5e-05", "1.5e-06", "1.875e-05"],
    "claude-haiku-4-5": ["0.000001", "0.000005", "1E-7", "0.00000125"],
    "gemini-2.5-flash": ["3e-07", "2.5e-06", "7.5e-08", nil],
    "text-embedding-3-small": ["2e-08", "0.0", nil, nil],
    "mistral-large-latest": ["2e-06", "6e-06", nil, nil],
]

private func decimal(_ text: String) throws -> Decimal {
    try #require(Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), "Decimal cannot read \(text)")
}

private func perMillion(_ text: String) throws -> Decimal { try decimal(text) * Decimal(1_000_000) }

private func decimal(_ price: DecimalPrice) throws -> Decimal { try decimal(price.description) }

/// A glob matcher written for the test (`*` and `?`), independent of `Glob`.
private func globMatches(_ pattern: Substring, _ name: Substring) -> Bool {
    guard let p = pattern.first else { return name.isEmpty }
    if p == "*" {
        var rest = name
        while true {
            if globMatches(pattern.dropFirst(), rest) { return true }
            guard !rest.isEmpty else { return false }
            rest = rest.dropFirst()
        }
    }
    guard let n = name.first, p == "?" || p == n else { return false }
    return globMatches(pattern.dropFirst(), name.dropFirst())
}

/// The entry a span starting at `at` would be priced by: first glob (file order), latest `from` ≤ `at`.
private func llmEntry(_ catalog: PriceCatalog, _ model: String, at: Int128) -> LLMPrice? {
    guard let glob = catalog.llm.first(where: { globMatches(Substring($0.model), Substring(model)) })?.model else { return nil }
    return catalog.llm.filter { $0.model == glob && ($0.from?.nanosSinceEpoch ?? .min) <= at }
        .max { ($0.from?.nanosSinceEpoch ?? .min) < ($1.from?.nanosSinceEpoch ?? .min) }
}

private func computeEntry(_ catalog: PriceCatalog, _ host: String, at: Int128) -> ComputePrice? {
    catalog.compute.filter { $0.hostType == host && ($0.from?.nanosSinceEpoch ?? .min) <= at }
        .max { ($0.from?.nanosSinceEpoch ?? .min) < ($1.from?.nanosSinceEpoch ?? .min) }
}

/// The four prices a span would be charged (fallbacks applied), or nil when no entry is in force.
private func prices(_ e: LLMPrice?) -> [DecimalPrice]? {
    e.map { [$0.inputUSDPerMtok, $0.effectiveOutput, $0.effectiveCachedInput, $0.effectiveCacheWrite] }
}

private let importDate = EffectiveInstant(rfc3339: "2026-12-01T00:00:00Z")!

private func importFixtures(into text: String) throws -> PriceImportPlan {
    let aws = try AWSOfferReader.read(bytes: try fixture("aws-ec2-us-east-1.json"), file: "aws", region: "us-east-1")
    let models = try LiteLLMPriceReader.read(bytes: try fixture("litellm-model-prices.json"), file: "models")
    return try PriceImporter.plan(
        catalogText: text, catalogName: "pricing.yaml", compute: aws.prices, defaultRegion: "us-east-1",
        models: models.prices, from: importDate)
}

@Suite("pricing import")
struct PriceImportTests {
    @Test("a number's text becomes an exact decimal: exponent forms, per-token × 10^6 by moving the point")
    func exactDecimalText() throws {
        let texts = ["2.5e-06", "1e-05", "1.25e-06", "1E-7", "0.000001", "3.75e-06", "1.875e-05", "0.0960000000",
                     "4.6080000000", "0", "0.0", "-0", "12", "1.5E+2", "7e0", "0.00000125", "9.999e-10"]
        for text in texts {
            for shift in [0, 6] {
                let plain = try ExactDecimalText.plainDecimal(text, shift: shift)
                var expected = try decimal(text)
                if shift == 6 { expected *= Decimal(1_000_000) }
                #expect(try decimal(plain) == expected, "\(text) × 10^\(shift) gave \(plain)")
                #expect(!plain.contains("e") && !plain.contains("E"))
            }
        }
        #expect(try ExactDecimalText.plainDecimal("2.5e-06", shift: 6) == "2.5")
        #expect(try ExactDecimalText.plainDecimal("1e-05", shift: 6) == "10")
    }

    @Test("numbers that cannot be prices exactly are refused, never rounded")
    func refusedNumbers() {
        // 16 fractional digits per million tokens: a binary-float artefact.
        #expect(throws: ExactDecimalText.Failure.self) { try ExactDecimalText.price("1.4999999999999999e-06", shift: 6) }
        #expect(throws: ExactDecimalText.Failure.self) { try ExactDecimalText.price("-1e-06", shift: 6) }
        #expect(throws: ExactDecimalText.Failure.self) { try ExactDecimalText.price("1e999", shift: 6) }
        #expect(throws: ExactDecimalText.Failure.self) { try ExactDecimalText.price("abc", shift: 0) }
    }

    @Test("AWS offer file: on-demand Linux shared prices of the region only; Windows, dedicated, reserved, SQL, unused capacity, Local Zone skipped")
    func awsReader() throws {
        let result = try AWSOfferReader.read(bytes: try fixture("aws-ec2-us-east-1.json"), file: "aws", region: "us-east-1")
        #expect(Set(result.prices.map(\.hostType)) == Set(awsExpected.keys))
        for price in result.prices {
            #expect(try decimal(price.usdPerHour) == decimal(try #require(awsExpected[price.hostType])), "\(price.hostType)")
            #expect(price.region == "us-east-1")
        }
        let skipped = result.skipped.byReason.values.flatMap { $0 }
        for sku in ["H6T3SYB5G6QCVMZM", "2WTMTR9HDDCZ7BZS", "8VCNEHQMSCQS4P39", "YCZEB3YJ7XZPXB4N", "ZQ2AUMMX8Z4FS8DN", "P7KZ4D8B2TQ3M5XR"] {
            #expect(skipped.contains(sku), "\(sku) should be skipped")
        }
        #expect(result.skipped.byReason.keys.contains { $0.hasPrefix("Reserved") })
        // The same file read for another region keeps nothing (regionCode is us-east-1).
        let other = try AWSOfferReader.read(bytes: try fixture("aws-ec2-us-east-1.json"), file: "aws", region: "eu-west-1")
        #expect(other.prices.isEmpty)
    }

    @Test("LiteLLM file: per-token prices become exact per-MTok prices; aliases, pixel prices, zero and inexact prices skipped")
    func liteLLMReader() throws {
        let result = try LiteLLMPriceReader.read(bytes: try fixture("litellm-model-prices.json"), file: "models")
        #expect(Set(result.prices.map(\.model)) == Set(modelsExpected.keys))
        for price in result.prices {
            let texts = try #require(modelsExpected[price.model])
            let got = [price.inputUSDPerMtok, price.outputUSDPerMtok, price.cachedInputUSDPerMtok, price.cacheWriteUSDPerMtok]
            for (text, value) in zip(texts, got) {
                if let text {
                    #expect(try decimal(try #require(value)) == perMillion(text), "\(price.model) \(text)")
                } else {
                    #expect(value == nil, "\(price.model)")
                }
            }
        }
        let skipped = Set(result.skipped.byReason.values.flatMap { $0 })
        #expect(skipped == ["azure/gpt-4o", "ollama/llama3", "dall-e-3", "gpt-3.5-turbo-instruct"])
        let anthropic = try LiteLLMPriceReader.read(bytes: try fixture("litellm-model-prices.json"), file: "models", providers: ["anthropic"])
        #expect(Set(anthropic.prices.map(\.model)) == ["claude-3-5-sonnet-20241022", "claude-opus-4-1-20250805", "claude-haiku-4-5"])
    }

    @Test("importing the fixtures into config/pricing.yaml gives a catalog pricing check accepts, with the fixtures' prices to the last digit")
    func importIntoShippedCatalog() throws {
        let original = try shippedCatalog()
        let plan = try importFixtures(into: original)
        let catalog = try PriceCatalog(yaml: plan.updatedText, sourceName: "imported")  // what `pricing check` runs
        let old = try PriceCatalog(yaml: original, sourceName: "shipped")
        let at = importDate.nanosSinceEpoch
        for (host, text) in awsExpected {
            let entry = try #require(computeEntry(catalog, host, at: at), "\(host)")
            #expect(try decimal(entry.usdPerHour) == decimal(text), "\(host)")
            // Before the import date, exactly what the shipped catalog said.
            #expect(computeEntry(catalog, host, at: at - 1)?.usdPerHour == computeEntry(old, host, at: at - 1)?.usdPerHour)
        }
        for (model, texts) in modelsExpected {
            let entry = try #require(llmEntry(catalog, model, at: at), "\(model)")
            let got = [entry.inputUSDPerMtok, entry.outputUSDPerMtok, entry.cachedInputUSDPerMtok, entry.cacheWriteUSDPerMtok]
            for (text, value) in zip(texts, got) {
                guard let text else { continue }  // left out by the file: the catalog's value is kept
                #expect(try decimal(try #require(value)) == perMillion(text), "\(model) \(text)")
            }
            #expect(prices(llmEntry(catalog, model, at: at - 1)) == prices(llmEntry(old, model, at: at - 1)), "\(model) before the import date")
        }
        // c5.xlarge 0.17 → 0.1735 is the one changed price; m7i.large, m5.metal and three models are new.
        #expect(plan.count(.changed) == 1)
        #expect(plan.count(.added) == 5)
        #expect(plan.count(.unchanged) == awsExpected.count + modelsExpected.count - 6)
        // Nothing of the shipped file is lost: every original line is still there, in order.
        let newLines = plan.updatedText.split(separator: "\n", omittingEmptySubsequences: false)
        var cursor = newLines.startIndex
        for line in original.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let found = newLines[cursor...].firstIndex(of: line) else { Issue.record("lost line: \(line)"); break }
            cursor = found + 1
        }
    }

    @Test("importing the same files again changes nothing")
    func idempotent() throws {
        let first = try importFixtures(into: try shippedCatalog())
        let second = try importFixtures(into: first.updatedText)
        #expect(second.count(.added) == 0 && second.count(.changed) == 0)
        #expect(second.updatedText == first.updatedText)
    }

    @Test("into an empty catalog every price is added, dated, and the result parses")
    func emptyCatalog() throws {
        let plan = try importFixtures(into: "# empty\n")
        #expect(plan.count(.added) == awsExpected.count + modelsExpected.count)
        let catalog = try PriceCatalog(yaml: plan.updatedText, sourceName: "imported")
        #expect(catalog.compute.count == awsExpected.count && catalog.llm.count == modelsExpected.count)
        #expect(catalog.compute.allSatisfy { $0.from == importDate } && catalog.llm.allSatisfy { $0.from == importDate })
    }

    @Test("a model priced so far by a broader glob gets its own entries before that glob; older spans keep the glob's prices")
    func shadowedGlob() throws {
        let json = #"{"gpt-4o-2024-11-20": {"input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06, "litellm_provider": "openai"}}"#
        let models = try LiteLLMPriceReader.read(bytes: Array(json.utf8), file: "inline")
        let original = try shippedCatalog()
        let plan = try PriceImporter.plan(
            catalogText: original, catalogName: "pricing.yaml", compute: [], defaultRegion: "us-east-1",
            models: models.prices, from: importDate)
        #expect(plan.count(.changed) == 1)
        let catalog = try PriceCatalog(yaml: plan.updatedText, sourceName: "imported")
        let old = try PriceCatalog(yaml: original, sourceName: "shipped")
        let at = importDate.nanosSinceEpoch
        let now = try #require(llmEntry(catalog, "gpt-4o-2024-11-20", at: at))
        #expect(now.model == "gpt-4o-2024-11-20")
        #expect(try decimal(now.inputUSDPerMtok) == perMillion("2e-06"))
        #expect(try decimal(try #require(now.outputUSDPerMtok)) == perMillion("8e-06"))
        // Cache-read price left out by the file: the glob's 1.25 is kept.
        #expect(now.cachedInputUSDPerMtok == llmEntry(old, "gpt-4o-2024-11-20", at: at)?.cachedInputUSDPerMtok)
        let before = try #require(llmEntry(catalog, "gpt-4o-2024-11-20", at: at - 1))
        let oldBefore = try #require(llmEntry(old, "gpt-4o-2024-11-20", at: at - 1))
        #expect(prices(before) == prices(oldBefore))
        // Other gpt-4o models still go to the glob, unchanged.
        #expect(llmEntry(catalog, "gpt-4o", at: at)?.model == "gpt-4o*")
    }

    @Test("another region's price goes under regions:; an unknown host type is not added from a non-default region")
    func regionalPrices() throws {
        let original = try shippedCatalog()
        let eu = [
            ImportedComputePrice(hostType: "m5.large", region: "eu-west-1", usdPerHour: try DecimalPrice(parsing: "0.111"), skus: ["X"]),
            ImportedComputePrice(hostType: "m5.xlarge", region: "eu-west-1", usdPerHour: try DecimalPrice(parsing: "0.214"), skus: ["Y"]),
            ImportedComputePrice(hostType: "z9.huge", region: "eu-west-1", usdPerHour: try DecimalPrice(parsing: "9.5"), skus: ["Z"]),
        ]
        let plan = try PriceImporter.plan(
            catalogText: original, catalogName: "pricing.yaml", compute: eu, defaultRegion: "us-east-1", models: [], from: importDate)
        #expect(plan.lines.map(\.change) == [.changed, .unchanged, .skipped])
        let catalog = try PriceCatalog(yaml: plan.updatedText, sourceName: "imported")
        let entry = try #require(computeEntry(catalog, "m5.large", at: importDate.nanosSinceEpoch))
        #expect(entry.regions.first { $0.region == "eu-west-1" }?.usdPerHour.description == "0.111")
        // The other regions and the default price are carried over.
        #expect(entry.usdPerHour.description == "0.096")
        #expect(entry.regions.first { $0.region == "eu-central-1" }?.usdPerHour.description == "0.115")
    }

    @Test("an import dated the same day as an existing entry replaces that entry instead of duplicating it")
    func sameDayReplaces() throws {
        let first = try PriceImporter.plan(
            catalogText: try shippedCatalog(), catalogName: "p", compute: [
                ImportedComputePrice(hostType: "t3.micro", region: "us-east-1", usdPerHour: try DecimalPrice(parsing: "0.0105"), skus: []),
            ], defaultRegion: "us-east-1", models: [], from: importDate)
        let second = try PriceImporter.plan(
            catalogText: first.updatedText, catalogName: "p", compute: [
                ImportedComputePrice(hostType: "t3.micro", region: "us-east-1", usdPerHour: try DecimalPrice(parsing: "0.0106"), skus: []),
            ], defaultRegion: "us-east-1", models: [], from: importDate)
        let catalog = try PriceCatalog(yaml: second.updatedText, sourceName: "p")
        #expect(catalog.compute.filter { $0.hostType == "t3.micro" }.count == 2)
        #expect(computeEntry(catalog, "t3.micro", at: importDate.nanosSinceEpoch)?.usdPerHour.description == "0.0106")
    }

    @Test("malformed JSON is refused with a byte offset")
    func malformedJSON() {
        #expect(throws: PriceImportError.self) { try LiteLLMPriceReader.read(bytes: Array(#"{"a": {"input_cost_per_token": 1e-06,}"#.utf8), file: "x") }
        #expect(throws: PriceImportError.self) { try AWSOfferReader.read(bytes: Array(#"{"products": {}}"#.utf8), file: "x", region: "r") }
        #expect(throws: PriceImportError.self) { try LiteLLMPriceReader.read(bytes: Array((#"{"a": "# + String(repeating: "[", count: 100)).utf8), file: "x") }
    }
}
