extension GeneratedRecord {
    /// The partition to produce this record to, among `partitions` (> 0): nil when it has a key (the
    /// producer's key hash decides, as for the Collector's exporter); otherwise chosen from the trace id of
    /// its `traceparent` header (FNV-1a of the header's 32 hex digits, mod `partitions`), so keyless SDK
    /// records spread evenly over the partitions and a trace's records share one. Without a key and a
    /// valid `traceparent` (a poison record): nil as well.
    ///
    /// Why not leave keyless records to the producer: librdkafka's sticky partitioner sends a whole batch
    /// to one partition, which overflows the mock cluster's ~5 MiB a partition long before the topic is
    /// full (the benchmark's SDK row lost records that way).
    public func partition(among partitions: Int) -> Int32? {
        guard key == nil, partitions > 0,
            let tp = headers.first(where: { $0.name == "traceparent" })?.value, tp.count >= 35
        else { return nil }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in tp[3..<35] {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01b3
        }
        return Int32(h % UInt64(partitions))
    }
}
