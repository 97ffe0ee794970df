import Pipeline
import Testing

@Suite("malloc arena limit")
struct MallocArenaLimitTests {
    @Test("the worker asks for one arena unless MALLOC_ARENA_MAX is set, and glibc accepts it")
    func oneArenaUnlessConfigured() {
        #expect(MallocArenaLimit.limit(environment: [:]) == 1)
        #expect(MallocArenaLimit.limit(environment: ["MALLOC_ARENA_MAX": "4"]) == nil)
        #expect(MallocArenaLimit.limit(environment: ["MALLOC_ARENA_MAX": ""]) == nil)
        #expect(MallocArenaLimit.apply(environment: ["MALLOC_ARENA_MAX": "4"]) == nil)
        #if os(Linux)
        #expect(MallocArenaLimit.apply(environment: [:]) == 1)
        #endif
    }
}
