import Aggregation
@testable import Pipeline
import Testing

@Suite("quarantine: isolating a record the database refuses")
struct QuarantineTests {
    let p0 = PartitionKey(topic: "t", partition: 0)
    let p1 = PartitionKey(topic: "t", partition: 1)

    @Test("a failed epoch of M records halves the epoch size until a one-record epoch names the culprit, which is poisoned with its reason")
    func bisectsToTheCulprit() {
        var q = Quarantine()
        #expect(!q.isActive)
        q.epochUnwritable(
            records: 1000, advances: [PartitionAdvance(partition: p0, from: 100, to: 700, gaps: []),
                                      PartitionAdvance(partition: p1, from: nil, to: 400, gaps: [])],
            single: nil, sqlState: "54000", detail: "index row too large")
        #expect(q.epochRecordLimit == 500)
        q.epochUnwritable(records: 500, advances: [PartitionAdvance(partition: p0, from: 100, to: 600, gaps: [])], single: nil, sqlState: "54000", detail: "x")
        #expect(q.epochRecordLimit == 250)
        q.epochUnwritable(records: 1, advances: [PartitionAdvance(partition: p0, from: 433, to: 434, gaps: [])],
                          single: (p0, 433), sqlState: "22003", detail: "bigint out of range")
        #expect(q.epochRecordLimit == 1)
        #expect(q.poison(p0, offset: 433)?.reason == .valueOutOfRange)
        #expect(q.poison(p0, offset: 433)?.detail.contains("22003") == true)
        #expect(q.poison(p0, offset: 432) == nil)
        // Commits widen the epochs again.
        q.epochCommitted([PartitionAdvance(partition: p0, from: 433, to: 434, gaps: [])])
        #expect(q.epochRecordLimit == 2)
        #expect(q.poison(p0, offset: 433) == nil, "pruned once an epoch moved past it")
        // Reading past every range ends the quarantine.
        q.recordTaken(p0, offset: 700)
        #expect(q.isActive)
        q.recordTaken(p1, offset: 400)
        #expect(!q.isActive)
    }

    @Test("any SQLSTATE other than 22003 rejects as unwritable")
    func unwritableReason() {
        var q = Quarantine()
        q.epochUnwritable(records: 1, advances: [PartitionAdvance(partition: p0, from: 5, to: 6, gaps: [])], single: (p0, 5),
                          sqlState: "54000", detail: "d")
        #expect(q.poison(p0, offset: 5)?.reason == .unwritable)
    }

    @Test("revoked partitions leave the quarantine")
    func revoked() {
        var q = Quarantine()
        q.epochUnwritable(records: 10, advances: [PartitionAdvance(partition: p0, from: 0, to: 10, gaps: [])], single: nil, sqlState: nil, detail: "")
        #expect(q.isActive)
        q.partitionsRemoved([p0])
        #expect(!q.isActive)
    }
}
