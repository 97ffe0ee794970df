import Testing

@Test("the PricingTests target builds") func targetBuilds() { #expect(Bool(true)) }
