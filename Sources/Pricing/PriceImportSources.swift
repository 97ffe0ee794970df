/// One instance type's on-demand hourly price in one region, read from an AWS price-list offer file.
public struct ImportedComputePrice: Sendable, Equatable {
    public var hostType: String
    public var region: String
    public var usdPerHour: DecimalPrice
    /// The offer file's SKU(s) the price came from (for messages).
    public var skus: [String]
}

/// One model's prices per million tokens, read from a LiteLLM-style model price file. A price the file
/// leaves out is nil (the import keeps the catalog's value for it, see ``PriceImportPlan``).
public struct ImportedModelPrice: Sendable, Equatable {
    public var model: String
    public var provider: String?
    public var inputUSDPerMtok: DecimalPrice
    public var outputUSDPerMtok: DecimalPrice?
    public var cachedInputUSDPerMtok: DecimalPrice?
    public var cacheWriteUSDPerMtok: DecimalPrice?
}

/// What a reader left out of an input file, and why (counted by reason; the names kept for `--verbose`).
public struct ImportSkips: Sendable, Equatable {
    public private(set) var byReason: [String: [String]] = [:]

    mutating func add(_ what: String, _ reason: String) { byReason[reason, default: []].append(what) }

    public var total: Int { byReason.values.reduce(0) { $0 + $1.count } }
}

/// Reads an AWS EC2 price-list offer file (`…/offers/v1.0/aws/AmazonEC2/current/<region>/index.json`).
///
/// Keeps on-demand prices (`terms.OnDemand`, unit `Hrs`) of products of family `Compute Instance…` with
/// `operatingSystem: Linux`, `tenancy: Shared`, `preInstalledSw: NA` and, when the attributes are
/// present, `capacitystatus: Used`, `licenseModel: No License required`, `marketoption: OnDemand` and
/// `regionCode` equal to the region asked for and `locationType: AWS Region` (Local Zones, Wavelength
/// Zones and Outposts price differently). Everything else (Windows, RHEL, dedicated or host
/// tenancy, reserved terms, capacity reservations, other regions) is skipped and counted by reason.
/// Prices are the offer's decimal strings, taken exactly. Several SKUs of one instance type must agree
/// on the price, or that instance type is skipped (never guessed).
///
/// Guarantees: streams the file (products and terms are read one SKU at a time, in either order);
/// throws ``PriceImportError`` on malformed JSON, never traps.
public enum AWSOfferReader {
    public static func read(bytes: [UInt8], file: String, region: String) throws(PriceImportError) -> (prices: [ImportedComputePrice], skipped: ImportSkips) {
        var reader = ImportJSONReader(bytes: bytes, file: file)
        var eligible: [String: String] = [:]  // sku → instance type
        var skipped = ImportSkips()
        var onDemand: [String: (effective: String, prices: Set<String>)] = [:]
        var sawProducts = false
        var sawOnDemand = false
        try reader.forEachMember { reader, key throws(PriceImportError) in
            switch key {
            case "products":
                sawProducts = true
                try reader.forEachMember { reader, sku throws(PriceImportError) in
                    let product = try reader.readValue()
                    switch productVerdict(product, region: region) {
                    case let .eligible(instanceType): eligible[sku] = instanceType
                    case let .skip(reason): skipped.add(sku, reason)
                    }
                }
            case "terms":
                try reader.forEachMember { reader, termType throws(PriceImportError) in
                    guard termType == "OnDemand" else {
                        var count = 0
                        try reader.forEachMember { reader, _ throws(PriceImportError) in count += 1; try reader.skipValue() }
                        for _ in 0..<count { skipped.add(termType, "\(termType) terms (only OnDemand is imported)") }
                        return
                    }
                    sawOnDemand = true
                    try reader.forEachMember { reader, sku throws(PriceImportError) in
                        let terms = try reader.readValue()
                        if let hourly = hourlyPrices(terms) { onDemand[sku] = hourly }
                    }
                }
            default:
                try reader.skipValue()
            }
        }
        try reader.expectEnd()
        guard sawProducts else { throw PriceImportError(file: file, reason: "no \"products\" object: not an AWS offer file") }
        guard sawOnDemand else { throw PriceImportError(file: file, reason: "no \"terms\".\"OnDemand\" object: not an AWS offer file") }

        var byType: [String: [(sku: String, price: String)]] = [:]
        for (sku, instanceType) in eligible.sorted(by: { $0.key < $1.key }) {
            guard let terms = onDemand[sku] else { skipped.add(sku, "no on-demand hourly price"); continue }
            guard terms.prices.count == 1, let price = terms.prices.first else {
                skipped.add(sku, "several hourly prices in its latest on-demand term"); continue
            }
            byType[instanceType, default: []].append((sku, price))
        }
        var prices: [ImportedComputePrice] = []
        for (instanceType, offers) in byType.sorted(by: { $0.key < $1.key }) {
            var parsed: [DecimalPrice] = []
            for offer in offers {
                do {
                    parsed.append(try ExactDecimalText.price(offer.price, shift: 0))
                } catch {
                    skipped.add(instanceType, "price \(error)")
                }
            }
            guard parsed.count == offers.count, let first = parsed.first else { continue }
            guard parsed.allSatisfy({ $0 == first }) else {
                skipped.add(instanceType, "SKUs disagree on the price (\(offers.map { "\($0.sku)=\($0.price)" }.joined(separator: ", ")))")
                continue
            }
            guard first.picoUSD > 0 else { skipped.add(instanceType, "price 0"); continue }
            prices.append(ImportedComputePrice(hostType: instanceType, region: region, usdPerHour: first, skus: offers.map(\.sku)))
        }
        return (prices, skipped)
    }

    enum Verdict: Equatable { case eligible(String), skip(String) }

    static func productVerdict(_ product: ImportJSON, region: String) -> Verdict {
        guard let family = product.member("productFamily")?.stringValue, family.hasPrefix("Compute Instance") else {
            return .skip("not a compute instance")
        }
        guard let attributes = product.member("attributes") else { return .skip("no attributes") }
        func attribute(_ name: String) -> String? { attributes.member(name)?.stringValue }
        guard let instanceType = attribute("instanceType"), !instanceType.isEmpty else { return .skip("no instanceType") }
        let required: [(String, String)] = [("operatingSystem", "Linux"), ("tenancy", "Shared"), ("preInstalledSw", "NA")]
        for (name, wanted) in required where attribute(name) != wanted {
            return .skip("\(name) \(attribute(name) ?? "missing") (want \(wanted))")
        }
        let ifPresent: [(String, String)] = [
            ("capacitystatus", "Used"), ("licenseModel", "No License required"), ("marketoption", "OnDemand"), ("regionCode", region),
            ("locationType", "AWS Region"),  // not a Local Zone, Wavelength Zone or Outpost of the region
        ]
        for (name, wanted) in ifPresent {
            if let value = attribute(name), value != wanted { return .skip("\(name) \(value) (want \(wanted))") }
        }
        return .eligible(instanceType)
    }

    /// The `Hrs` USD prices of the latest (by `effectiveDate`) on-demand offer term of one SKU.
    static func hourlyPrices(_ terms: ImportJSON) -> (effective: String, prices: Set<String>)? {
        guard case let .object(offers) = terms else { return nil }
        var best: (effective: String, prices: Set<String>)?
        for (_, offer) in offers {
            let effective = offer.member("effectiveDate")?.stringValue ?? ""
            guard case let .object(dimensions)? = offer.member("priceDimensions") else { continue }
            var prices: Set<String> = []
            for (_, dimension) in dimensions where dimension.member("unit")?.stringValue == "Hrs" {
                if let usd = dimension.member("pricePerUnit")?.member("USD")?.stringValue { prices.insert(usd) }
            }
            guard !prices.isEmpty else { continue }
            if best == nil || effective > best!.effective { best = (effective, prices) }
        }
        return best
    }
}

/// Reads a LiteLLM-style model price file: `{"gpt-4o": {"input_cost_per_token": 2.5e-06,
/// "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06,
/// "cache_creation_input_token_cost": …, "litellm_provider": "openai", "mode": "chat"}, …}`.
///
/// Per-token prices become per-million-token prices by moving the decimal point six places in the
/// number's TEXT (``ExactDecimalText``): exact, no floating point. A price that would need more than 12
/// fractional digits per million tokens (a binary-float artefact such as `1.4999999999999999e-07`) is
/// refused and the model skipped, never rounded. Skipped and counted by reason: entries without
/// `input_cost_per_token`, provider-prefixed aliases (`azure/gpt-4o`: a span names the model without
/// the prefix), names with glob characters, providers not selected, models whose prices are all 0.
public enum LiteLLMPriceReader {
    public static func read(bytes: [UInt8], file: String, providers: Set<String>? = nil) throws(PriceImportError) -> (prices: [ImportedModelPrice], skipped: ImportSkips) {
        var reader = ImportJSONReader(bytes: bytes, file: file)
        var prices: [ImportedModelPrice] = []
        var skipped = ImportSkips()
        var seen: Set<String> = []
        try reader.forEachMember { reader, model throws(PriceImportError) in
            let entry = try reader.readValue()
            guard model != "sample_spec" else { return }
            guard case .object = entry else { skipped.add(model, "not an object"); return }
            guard seen.insert(model).inserted else { skipped.add(model, "listed twice (the first is used)"); return }
            let provider = entry.member("litellm_provider")?.stringValue
            if let providers, !providers.contains(provider ?? "") {
                skipped.add(model, "provider not selected"); return
            }
            guard model.utf8.allSatisfy({ $0 != UInt8(ascii: "/") }) else {
                skipped.add(model, "provider-prefixed alias"); return
            }
            guard !model.isEmpty, model.utf8.allSatisfy({ $0 != UInt8(ascii: "*") && $0 != UInt8(ascii: "?") && $0 >= 0x20 }) else {
                skipped.add(model, "name is empty or holds glob or control characters"); return
            }
            func price(_ field: String) throws(ExactDecimalText.Failure) -> DecimalPrice?? {
                guard let value = entry.member(field) else { return .some(nil) }
                guard case let .number(text) = value else { return nil }  // not a number: unusable
                return .some(try ExactDecimalText.price(text, shift: 6))
            }
            do {
                guard let inputOptional = try price("input_cost_per_token"), let input = inputOptional else {
                    skipped.add(model, "no per-token input price"); return
                }
                guard let output = try price("output_cost_per_token"),
                      let cacheRead = try price("cache_read_input_token_cost"),
                      let cacheWrite = try price("cache_creation_input_token_cost")
                else {
                    skipped.add(model, "a price that is not a JSON number"); return
                }
                let all = [input, output, cacheRead, cacheWrite].compactMap { $0 }
                guard all.contains(where: { $0.picoUSD > 0 }) else { skipped.add(model, "all prices are 0"); return }
                prices.append(ImportedModelPrice(
                    model: model, provider: provider, inputUSDPerMtok: input, outputUSDPerMtok: output,
                    cachedInputUSDPerMtok: cacheRead, cacheWriteUSDPerMtok: cacheWrite))
            } catch {
                skipped.add(model, "price not exact in the catalog's format: \(error)")
            }
        }
        try reader.expectEnd()
        return (prices, skipped)
    }
}
