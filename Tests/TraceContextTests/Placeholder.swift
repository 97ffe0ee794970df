import Testing

@Test("the TraceContextTests target builds") func targetBuilds() { #expect(Bool(true)) }
