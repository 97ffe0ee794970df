@testable import Pipeline
import Testing

/// The writer's retry schedule (found by chaos runs: after a Postgres outage the writer waited up to 5 s
/// before its next attempt, so the ledger resumed up to ~5 s after the database returned).
@Suite("writer: retry backoff")
struct WriterBackoffTests {
    @Test("however long the database is away, the writer tries again at least once a second")
    func retriesAtLeastOnceASecond() {
        #expect(EpochWriterLoop.defaultBackoffMax <= .seconds(1))
        for attempt in 0...64 {
            for _ in 0..<20 {
                let d = EpochWriterLoop.backoff(attempt: attempt, max: EpochWriterLoop.defaultBackoffMax)
                #expect(d <= .seconds(1), "attempt \(attempt): \(d)")
                #expect(d >= .milliseconds(50), "attempt \(attempt): \(d)")
            }
        }
    }

    @Test("the first retries are quick and the delay grows to the cap")
    func growsToTheCap() {
        for _ in 0..<20 {
            #expect(EpochWriterLoop.backoff(attempt: 0, max: .seconds(1)) <= .milliseconds(100))
            #expect(EpochWriterLoop.backoff(attempt: 10, max: .seconds(1)) >= .milliseconds(500))
        }
    }

    @Test("a sub-second cap is honoured as that many milliseconds, not as zero")
    func subSecondCap() {
        for _ in 0..<50 {
            let d = EpochWriterLoop.backoff(attempt: 5, max: .milliseconds(200))
            #expect(d >= .milliseconds(100) && d <= .milliseconds(200), "\(d)")
        }
    }
}
