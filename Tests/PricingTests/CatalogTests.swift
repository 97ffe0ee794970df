import Foundation
import Pricing
import Testing
import TestSupport

@Suite("price catalog parsing and validation")
struct CatalogTests {
    /// (name, YAML, expected line, expected code, a word the reason must contain)
    static let badFiles: [(String, String, Int, PricingCatalogError.Code, String)] = [
        ("unquoted price", """
            compute:
              - host_type: m5.large
                usd_per_hour: 0.096
            """, 3, .invalidPrice, "quoted"),
        ("negative price", """
            compute:
              - host_type: m5.large
                usd_per_hour: "-0.096"
            """, 3, .invalidPrice, "negative"),
        ("not a decimal", """
            serverless:
              - platform: aws_lambda
                usd_per_gb_second: "0.00001"
                usd_per_invocation: "2e-7"
            """, 4, .invalidPrice, "decimal"),
        ("too many fractional digits", """
            llm:
              - model: "x*"
                input_usd_per_mtok: "0.0000000000001"
            """, 3, .invalidPrice, "fractional"),
        ("unknown key in an entry", """
            exclude_environments: [ci]
            llm:
              - model: "x*"
                input_usd_per_mtok: "1"
                colour: red
            """, 5, .invalidStructure, "colour"),
        ("unknown top-level key", """
            compute: []
            gpu: []
            """, 2, .invalidStructure, "gpu"),
        ("bad from", """
            compute:
              - host_type: m5.large
                usd_per_hour: "1"
              - host_type: m5.large
                usd_per_hour: "2"
                from: "2026-13-01T00:00:00Z"
            """, 6, .invalidDate, "month"),
        ("from without zone", """
            compute:
              - host_type: m5.large
                usd_per_hour: "1"
                from: "2026-07-01T00:00:00"
            """, 4, .invalidDate, "zone"),
        ("duplicate key and from (same instant, other offset)", """
            compute:
              - host_type: g5.xlarge
                usd_per_hour: "1"
                from: "2026-07-01T00:00:00Z"
              - host_type: m5.large
                usd_per_hour: "1"
              - host_type: g5.xlarge
                usd_per_hour: "2"
                from: "2026-07-01T02:00:00+02:00"
            """, 7, .duplicateEntry, "line 2"),
        ("duplicate llm glob without from", """
            llm:
              - model: "a*"
                input_usd_per_mtok: "1"
              - model: "a*"
                input_usd_per_mtok: "2"
            """, 4, .duplicateEntry, "a*"),
        ("missing required key", """
            serverless:
              - platform: aws_lambda
                usd_per_gb_second: "0.00001"
            """, 2, .invalidStructure, "usd_per_invocation"),
        ("YAML syntax error", """
            compute:
              - host_type: m5.large
                usd_per_hour: "0.096
            """, 3, .yamlSyntax, "YAML"),
        ("duplicate YAML key", """
            llm:
              - model: "a*"
                model: "b*"
                input_usd_per_mtok: "1"
            """, 2, .invalidStructure, "duplicate"),
        ("entry is not a mapping", """
            compute:
              - m5.large
            """, 2, .invalidStructure, "mapping"),
        ("empty file", "", 1, .invalidStructure, "empty"),
    ]

    @Test("a refused catalog names the file, the line and the reason", arguments: 0..<badFiles.count)
    func refusedWithLine(_ index: Int) {
        let (name, yaml, line, code, word) = Self.badFiles[index]
        do {
            _ = try PriceCatalog(yaml: yaml, sourceName: "bad.yaml")
            Issue.record("\(name): accepted")
        } catch {
            #expect(error.file == "bad.yaml", "\(name)")
            #expect(error.line == line, "\(name): \(error)")
            #expect(error.code == code, "\(name): \(error)")
            #expect(error.reason.contains(word), "\(name): \(error)")
            #expect(error.description.hasPrefix("bad.yaml:\(line): "), "\(name)")
        }
    }

    @Test("the shipped config/pricing.yaml is valid and prices the common models")
    func shippedCatalog() throws {
        let catalog = try PriceCatalog.load(path: shippedPricingFile.path)
        #expect(catalog.excludedEnvironments == ["ci", "staging"])
        #expect(catalog.compute.contains { $0.hostType == "m5.large" && $0.usdPerHour.description == "0.096" })
        #expect(Set(catalog.serverless.map(\.platform)) == ["aws_lambda", "gcp_cloud_functions", "azure_functions"])
        for model in ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3", "claude-sonnet-4-5", "claude-opus-4-1", "gemini-2.5-pro", "gemini-1.5-flash"] {
            #expect(catalog.llm.contains { entry in matches(entry.model, model) }, "\(model)")
        }
        #expect(catalog.summary.contains("from 2025-06-10T00:00:00Z"))
    }

    /// A naive glob for the test only.
    func matches(_ glob: String, _ name: String) -> Bool {
        if glob.hasSuffix("*") && !glob.dropLast().contains("*") && !glob.contains("?") { return name.hasPrefix(glob.dropLast()) }
        return glob == name
    }

    @Test("decimal prices parse exactly and print canonically")
    func decimalPrices() throws {
        #expect(try DecimalPrice(parsing: "0.096").picoUSD == 96_000_000_000)
        #expect(try DecimalPrice(parsing: "0.0000166667").picoUSD == 16_666_700)
        #expect(try DecimalPrice(parsing: "15.00").description == "15")
        #expect(try DecimalPrice(parsing: ".5").description == "0.5")
        #expect(try DecimalPrice(parsing: "0.000000000001").picoUSD == 1)
        #expect(try DecimalPrice(parsing: "0.1000000000000").picoUSD == 100_000_000_000)  // trailing zeros beyond 12 digits
        #expect(try DecimalPrice(parsing: "100000").picoUSD == DecimalPrice.maxPicoUSD)
        #expect(throws: DecimalPrice.ParseFailure.tooLarge) { try DecimalPrice(parsing: "100000.000000000001") }
        #expect(throws: DecimalPrice.ParseFailure.notDecimal) { try DecimalPrice(parsing: "1.2.3") }
        #expect(throws: DecimalPrice.ParseFailure.notDecimal) { try DecimalPrice(parsing: " 1") }
        #expect(throws: DecimalPrice.ParseFailure.empty) { try DecimalPrice(parsing: "") }
    }

    @Test("RFC 3339 instants: offsets, fractions, leap days")
    func instants() throws {
        let z = try #require(EffectiveInstant(rfc3339: "2026-07-01T00:00:00Z"))
        #expect(z.nanosSinceEpoch == Int128(jul2026))
        #expect(EffectiveInstant(rfc3339: "2026-07-01T02:00:00+02:00") == z)
        #expect(EffectiveInstant(rfc3339: "2026-06-30T23:59:59.999999999Z")?.nanosSinceEpoch == Int128(jul2026) - 1)
        #expect(EffectiveInstant(rfc3339: "2024-02-29T00:00:00Z") != nil)
        #expect(EffectiveInstant(rfc3339: "2025-02-29T00:00:00Z") == nil)
        #expect(EffectiveInstant(rfc3339: "2026-07-01") == nil)
        #expect(z.description == "2026-07-01T00:00:00Z")
    }

    @Test("exclude_environments defaults to ci and staging; an empty list excludes nothing")
    func excludeDefaults() throws {
        #expect(try PriceCatalog(yaml: "compute: []", sourceName: "t").excludedEnvironments == ["ci", "staging"])
        #expect(try PriceCatalog(yaml: "exclude_environments: []", sourceName: "t").excludedEnvironments.isEmpty)
    }
}
