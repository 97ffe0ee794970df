import Testing

@Test("the KafkaTests target builds") func targetBuilds() { #expect(Bool(true)) }
