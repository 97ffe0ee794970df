#if canImport(CMalloc)
import CMalloc
#endif

/// glibc malloc settings that keep the worker's peak RSS near its live memory: ONE arena for the whole
/// process, and a FIXED 1 MiB mmap threshold. Each applies unless the operator set it in the environment
/// (`MALLOC_ARENA_MAX` / `MALLOC_MMAP_THRESHOLD_`, or the matching `glibc.malloc.*` key in
/// `GLIBC_TUNABLES`): glibc applied those when it started, and an operator's choice wins.
///
/// Why one arena: glibc gives each thread that meets contention an arena of its own (up to 8 a core) and
/// returns an arena's free memory to the system only from its top. The worker's threads (the ingest
/// thread, the shards on the cooperative pool, the writer thread, librdkafka's broker threads, which
/// allocate the decompressed records) each touch epochs' maps, batches and COPY buffers of tens of MiB,
/// so peak RSS counted every arena's high-water mark. Measured on the same records, alternating old and
/// new (1M spans, 2 cores, PostgreSQL and the mock broker on the box): one span a trace with 100 ms
/// producer batches (writer-bound) 302 / 278 MiB → 240 / 239 MiB; Collector shape with one shard
/// 245 / 251 → 218 / 186 MiB; spans/s within the run-to-run spread (README, session 14). Small
/// allocations still come from each thread's cache (glibc's tcache) without taking the arena's lock.
///
/// Why a fixed mmap threshold: by default glibc raises the threshold to the size of each large block
/// freed (up to 32 MiB), so after the first epoch its maps, batches and COPY buffers come from the heap,
/// where a block freed below a live one stays resident; over a long run the heap's high-water mark
/// creeps up. With the threshold fixed, every block of 1 MiB or more is its own mapping, returned to the
/// system when freed. Measured on the same records, old then new in each round (README, session 15):
/// Collector shape with two shards 109 / 161 → 86 / 83 MiB; one span a trace, 100 ms batches,
/// 229 / 244 → 225 / 225 MiB; 10M-span backlog 170 → 155 MiB; spans/s the same once the order of the
/// runs was alternated; ~2× the minor page faults (~1 % of the worker's CPU).
///
/// Call ``apply(environment:)`` first thing in `main`, before any other thread exists: arenas made
/// before it stay.
public enum MallocTuning {
    /// The arenas the worker asks glibc for when the environment does not say.
    public static let arenas: Int32 = 1
    /// Blocks of at least this many bytes get a mapping of their own (when the environment does not say).
    public static let mmapThresholdBytes: Int32 = 1 << 20

    /// What to ask glibc for; nil = leave glibc's setting (from the environment) alone.
    public struct Settings: Equatable, Sendable {
        public var arenas: Int32?
        public var mmapThresholdBytes: Int32?

        public init(arenas: Int32? = nil, mmapThresholdBytes: Int32? = nil) {
            self.arenas = arenas
            self.mmapThresholdBytes = mmapThresholdBytes
        }
    }

    /// The settings to apply given `environment` (see the type's rules).
    public static func settings(environment: [String: String]) -> Settings {
        let tunables = environment["GLIBC_TUNABLES"] ?? ""
        func operatorSet(_ variable: String, tunable: String) -> Bool {
            environment[variable] != nil || tunables.contains(tunable)
        }
        return Settings(
            arenas: operatorSet("MALLOC_ARENA_MAX", tunable: "glibc.malloc.arena_max") ? nil : arenas,
            mmapThresholdBytes: operatorSet("MALLOC_MMAP_THRESHOLD_", tunable: "glibc.malloc.mmap_threshold")
                ? nil : mmapThresholdBytes)
    }

    /// Applies ``settings(environment:)``; returns what glibc accepted (all nil when not glibc).
    @discardableResult
    public static func apply(environment: [String: String]) -> Settings {
        var applied = Settings()
        #if canImport(CMalloc)
        let wanted = settings(environment: environment)
        if let arenas = wanted.arenas, mallopt(M_ARENA_MAX, arenas) == 1 { applied.arenas = arenas }
        if let bytes = wanted.mmapThresholdBytes, mallopt(M_MMAP_THRESHOLD, bytes) == 1 {
            applied.mmapThresholdBytes = bytes
        }
        #endif
        return applied
    }
}
