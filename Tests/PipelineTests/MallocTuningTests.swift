import Pipeline
import Testing

@Suite("malloc tuning")
struct MallocTuningTests {
    @Test("the worker asks for one arena and a 1 MiB mmap threshold, each unless the environment sets it")
    func defaultsUnlessConfigured() {
        let both = MallocTuning.Settings(arenas: 1, mmapThresholdBytes: 1 << 20)
        #expect(MallocTuning.settings(environment: [:]) == both)
        #expect(MallocTuning.settings(environment: ["MALLOC_ARENA_MAX": "4"]) == .init(arenas: nil, mmapThresholdBytes: 1 << 20))
        #expect(MallocTuning.settings(environment: ["MALLOC_ARENA_MAX": ""]).arenas == nil)
        #expect(MallocTuning.settings(environment: ["MALLOC_MMAP_THRESHOLD_": "65536"]) == .init(arenas: 1, mmapThresholdBytes: nil))
        #expect(
            MallocTuning.settings(environment: ["GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536:glibc.malloc.arena_max=2"])
                == .init(arenas: nil, mmapThresholdBytes: nil))
        #expect(MallocTuning.settings(environment: ["GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"]) == both)
    }

    @Test("glibc accepts both settings, and applies none that the environment set")
    func glibcAccepts() {
        #expect(
            MallocTuning.apply(environment: ["MALLOC_ARENA_MAX": "4", "MALLOC_MMAP_THRESHOLD_": "65536"])
                == .init(arenas: nil, mmapThresholdBytes: nil))
        #if os(Linux)
        #expect(MallocTuning.apply(environment: [:]) == .init(arenas: 1, mmapThresholdBytes: 1 << 20))
        #endif
    }
}
