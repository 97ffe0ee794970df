import Foundation
import OTLPProto
import SpanDecoding
import SwiftProtobuf
import Testing
import TestSupport

/// Random and mutated inputs must never crash the readers, and where both our reader and
/// swift-protobuf accept a mutated record they must agree.
///
/// Default: a fixed-seed run of `TRACELEDGER_FUZZ_ITERATIONS` (default 20 000) inputs. For the long run:
/// `TRACELEDGER_FUZZ_ITERATIONS=1000000 TRACELEDGER_FUZZ_SEED=… swift test --filter FuzzTests`.
/// A crashing input found this way is saved under `Fixtures/` (named `crash-*.bin` / `.json`) and
/// replayed by `fixturesDoNotCrash`.
@Suite struct FuzzTests {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["TRACELEDGER_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 20_000
    }
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["TRACELEDGER_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x7EA5_1ED6
    }

    static func mutate<R: RandomNumberGenerator>(_ input: [UInt8], _ rng: inout R) -> [UInt8] {
        var b = input
        for _ in 0..<rng.int(1...4) {
            if b.isEmpty { b = [UInt8.random(in: 0...255, using: &rng)] }
            let i = rng.int(0...(b.count - 1))
            switch rng.int(0...8) {
            case 0: b[i] ^= UInt8(1) << UInt8(rng.int(0...7))  // bit flip
            case 1: b[i] = UInt8.random(in: 0...255, using: &rng)
            case 2: b.remove(at: i)
            case 3: b.insert(UInt8.random(in: 0...255, using: &rng), at: i)
            case 4: b.removeLast(rng.int(0...min(b.count, 16)))  // truncation
            case 5: b.insert(contentsOf: Array(repeating: 0xFF, count: rng.int(1...12)), at: i)  // long varints
            case 6: b[i] = [0x0B, 0x0C, 0x0E, 0x0F, 0x00, 0x7A, 0x85, 0x4A].randomElement(using: &rng)!  // tags
            case 7:  // duplicate a slice (repeated fields, nested frames)
                let j = rng.int(i...min(b.count - 1, i + 40))
                b.insert(contentsOf: b[i...j], at: rng.int(0...b.count))
            default: b[i] = b[i] &+ UInt8(rng.int(1...3))  // nudge a length
            }
        }
        return b
    }

    @Test func randomAndMutatedProtobufDoNotCrash() {
        var rng = SplitMix64(seed: Self.seed)
        var accepted = 0, bothAccepted = 0
        for n in 0..<Self.iterations {
            let input: [UInt8]
            if n % 10 == 0 {
                input = (0..<rng.int(0...64)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                let req = RequestGen.request(&rng, resources: 1...2, spans: 0...3, attributes: 0...5)
                input = Self.mutate(serialize(req), &rng)
            }
            guard let got = try? decodeProto(input) else { continue }
            accepted += 1
            // Same count from the cheap id walk.
            let count = try? input.withUnsafeBytes { try OTLPProtobufReader.countSpans(in: $0) }
            #expect(count == got.count, "count walk disagrees: seed \(Self.seed) iteration \(n)")
            if let oracle = try? OTLPExportTraceServiceRequest(serializedBytes: input) {
                bothAccepted += 1
                let want = Oracle.expectedSpans(oracle)
                #expect(got == want, "seed \(Self.seed) iteration \(n): \(input)")
            }
        }
        print("protobuf fuzz: \(Self.iterations) inputs, \(accepted) accepted, \(bothAccepted) also by swift-protobuf")
    }

    @Test func randomAndMutatedJSONDoNotCrash() {
        var rng = SplitMix64(seed: Self.seed ^ 0x1234)
        var accepted = 0
        let n = max(Self.iterations / 4, 1)
        for i in 0..<n {
            let req = RequestGen.request(&rng, resources: 1...2, spans: 0...2, attributes: 0...4)
            var json = OTLPJSONEmitter.emit(req, rng: SplitMix64(seed: UInt64(i)))
            if i % 5 != 0 { json = Self.mutate(json, &rng) }
            if (try? decodeJSON(json)) != nil { accepted += 1 }
        }
        print("json fuzz: \(n) inputs, \(accepted) accepted")
    }

    @Test func fixturesDoNotCrash() throws {
        let dir = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "bin" || $0.pathExtension == "json" }
        #expect(!files.isEmpty)
        for f in files {
            let bytes = Array(try Data(contentsOf: f))
            // Only "no crash" and "typed error or spans" are checked; the name says what the input is.
            if f.pathExtension == "bin" {
                _ = try? decodeProto(bytes)
                _ = try? bytes.withUnsafeBytes { try OTLPProtobufReader.summarize($0) }
            } else {
                _ = try? decodeJSON(bytes)
            }
        }
    }
}
