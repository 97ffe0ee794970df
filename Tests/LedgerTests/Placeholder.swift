import Testing

@Test("the LedgerTests target builds") func targetBuilds() { #expect(Bool(true)) }
