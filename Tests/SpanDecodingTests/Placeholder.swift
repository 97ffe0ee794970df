import Testing

@Test("the SpanDecodingTests target builds") func targetBuilds() { #expect(Bool(true)) }
