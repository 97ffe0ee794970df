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

    @Test("a poll asks for about what is left of the budget, at least one record, at most the poll size")
    func pollLimitFollowsWhatIsLeft() {
        let b = DispatchBudget(maxBytes: 8 << 20)
        #expect(b.pollLimit(bufferedBytes: 0, recordBytesEstimate: 1 << 20, maxMessages: 2_000) == 8)
        #expect(b.pollLimit(bufferedBytes: 6 << 20, recordBytesEstimate: 1 << 20, maxMessages: 2_000) == 2)
        #expect(b.pollLimit(bufferedBytes: (8 << 20) - 1, recordBytesEstimate: 1 << 20, maxMessages: 2_000) == 1)
        #expect(b.pollLimit(bufferedBytes: 9 << 20, recordBytesEstimate: 1 << 20, maxMessages: 2_000) == 1)
        #expect(b.pollLimit(bufferedBytes: 0, recordBytesEstimate: 1_000, maxMessages: 2_000) == 2_000)
        #expect(b.pollLimit(bufferedBytes: 0, recordBytesEstimate: 0, maxMessages: 2_000) == 2_000)
    }

    @Test("the record size estimate rises at once and falls by an eighth a batch")
    func estimateUpFastDownSlow() {
        #expect(DispatchBudget.nextRecordBytesEstimate(previous: 1_000, batchAverage: 1_000_000) == 1_000_000)
        #expect(DispatchBudget.nextRecordBytesEstimate(previous: 1_000_000, batchAverage: 1_000) == 875_000)
        #expect(DispatchBudget.nextRecordBytesEstimate(previous: 600, batchAverage: 10) == DispatchBudget.recordOverheadBytes + 13)
    }

    @Test("pipeline.max_buffered_bytes: 48 MiB by default, set by TRACELEDGER_PIPELINE_MAX_BUFFERED_BYTES, positive")
    func configurationKey() throws {
        #expect(Configuration().pipelineMaxBufferedBytes == 48 * 1024 * 1024)
        let c = try Configuration.load(file: nil, environment: ["TRACELEDGER_PIPELINE_MAX_BUFFERED_BYTES": "1048576"])
        #expect(c.pipelineMaxBufferedBytes == 1_048_576)
        #expect(throws: ConfigurationError.self) {
            try Configuration.load(file: nil, environment: ["TRACELEDGER_PIPELINE_MAX_BUFFERED_BYTES": "0"])
        }
    }
}
