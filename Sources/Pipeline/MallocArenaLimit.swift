#if canImport(CMalloc)
import CMalloc
#endif

/// Limits glibc's malloc to ONE arena for the whole process, unless `MALLOC_ARENA_MAX` is set in the
/// environment (glibc applied that value when it started; an operator's choice wins).
///
/// Why: glibc gives each thread that meets contention an arena of its own (up to 8 a core) and returns
/// an arena's free memory to the system only from its top. The worker's threads (the ingest thread,
/// the shards on the cooperative pool, the writer thread, librdkafka's broker threads, which allocate
/// the decompressed records) each touch epochs' maps, batches and COPY buffers of tens of MiB, so peak
/// RSS counted every arena's high-water mark. Measured on the same records, alternating old and new
/// (1M spans, 2 cores, PostgreSQL and the mock broker on the box): one span a trace with 100 ms
/// producer batches (writer-bound) 302 / 278 MiB → 240 / 239 MiB; Collector shape with one shard
/// 245 / 251 → 218 / 186 MiB; spans/s within the run-to-run spread (README, session 14). Small
/// allocations still come from each thread's cache (glibc's tcache) without taking the arena's lock.
///
/// Call it first thing in `main`, before any other thread exists: arenas made before it stay.
public enum MallocArenaLimit {
    /// The arenas the worker asks glibc for when the environment does not say.
    public static let arenas: Int32 = 1

    /// The limit to apply given `environment`: `arenas`, or nil when `MALLOC_ARENA_MAX` is set.
    public static func limit(environment: [String: String]) -> Int32? {
        environment["MALLOC_ARENA_MAX"] == nil ? arenas : nil
    }

    /// Applies ``limit(environment:)``; returns the limit glibc accepted, nil when none was applied (set
    /// in the environment, or not glibc).
    @discardableResult
    public static func apply(environment: [String: String]) -> Int32? {
        #if canImport(CMalloc)
        guard let limit = limit(environment: environment), mallopt(M_ARENA_MAX, limit) == 1 else { return nil }
        return limit
        #else
        return nil
        #endif
    }
}
