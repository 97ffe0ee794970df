import Pipeline
import Testing

@Suite("dispatch byte budget")
struct DispatchBudgetTests {
    @Test("ingest polls under the budget, waits over it, and pauses only after waiting the longest wait")
    func pollWaitPause() {
        let b = DispatchBudget(maxBytes: 1_000)
        #expect(b.action(bufferedBytes: 999, waited: .zero, waitMax: .seconds(1)) == .poll)
        #expect(b.action(bufferedBytes: 1_000, waited: .zero, waitMax: .seconds(1)) == .wait)
        #expect(b.action(bufferedBytes: 50_000_000, waited: .milliseconds(999), waitMax: .seconds(1)) == .wait)
        #expect(b.action(bufferedBytes: 1_000, waited: .seconds(1), waitMax: .seconds(1)) == .pause)
    }

    @Test("a record larger than the whole budget still passes when nothing else is buffered")
    func oversizeRecordPasses() {
        let b = DispatchBudget(maxBytes: 1_000)
        #expect(b.admitsPoll(bufferedBytes: 0))
        let one = DispatchBudget.cost(valueBytes: 16 << 20, keyBytes: 16)
        #expect(one == (16 << 20) + 16 + DispatchBudget.recordOverheadBytes)
        #expect(b.admitsPoll(bufferedBytes: one) == false)
    }

    @Test("records count their bytes, not their number: 10k records of 1 MB do not fit where 10k small ones do")
    func bytesNotRecords() {
        let b = DispatchBudget(maxBytes: Configuration().pipelineMaxBufferedBytes)
        let small = 10_000 * DispatchBudget.cost(valueBytes: 2_000, keyBytes: 0)
        let large = 100 * DispatchBudget.cost(valueBytes: 1_000_000, keyBytes: 0)
        #expect(b.admitsPoll(bufferedBytes: small))
        #expect(b.admitsPoll(bufferedBytes: large) == false)
    }
}
