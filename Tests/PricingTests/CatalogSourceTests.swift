import Foundation
import Pricing
import Testing

@Suite("catalog reloading")
struct CatalogSourceTests {
    let good1 = """
        compute:
          - host_type: m5.large
            usd_per_hour: "0.096"
        """
    let good2 = """
        compute:
          - host_type: m5.large
            usd_per_hour: "0.200"
        """
    let bad = """
        compute:
          - host_type: m5.large
            usd_per_hour: 0.2
        """

    @Test("reloads on change, keeps the last good catalog on a bad file, counts the failure once")
    func reloads() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pricing-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("pricing.yaml").path
        try good1.write(toFile: path, atomically: true, encoding: .utf8)

        let source = try PriceCatalogSource(path: path)
        #expect(source.version == 1)
        #expect(source.poll() == .unchanged)
        #expect(source.currentIfChanged(since: 1) == nil)

        try bad.write(toFile: path, atomically: true, encoding: .utf8)
        guard case .failed(let error) = source.poll() else { Issue.record("bad file accepted"); return }
        #expect(error.line == 3)
        #expect(source.failureCount == 1)
        #expect(source.lastError == error)
        #expect(source.current.compute[0].usdPerHour.description == "0.096")  // last good kept
        #expect(source.poll() == .unchanged)  // same bad bytes: not counted again
        #expect(source.failureCount == 1)

        try good2.write(toFile: path, atomically: true, encoding: .utf8)
        guard case .reloaded(let version, _) = source.poll() else { Issue.record("good file not loaded"); return }
        #expect(version == 2)
        #expect(source.lastError == nil)
        let changed = try #require(source.currentIfChanged(since: 1))
        #expect(changed.version == 2)
        #expect(changed.catalog.compute[0].usdPerHour.description == "0.2")

        try FileManager.default.removeItem(atPath: path)
        guard case .failed = source.poll() else { Issue.record("missing file not reported"); return }
        #expect(source.poll() == .unchanged)  // reported once
        #expect(source.failureCount == 2)
        #expect(source.current.compute[0].usdPerHour.description == "0.2")
    }

    @Test("the first load fails loudly with the line")
    func firstLoadFails() {
        let probe = PriceCatalogSource.FileProbe(stat: { _ in (1, 1) }, read: { _ in Array("compute:\n  - host_type: x\n    usd_per_hour: 1\n".utf8) })
        #expect(throws: PricingCatalogError.self) { try PriceCatalogSource(path: "mem.yaml", probe: probe) }
    }

    @Test("readers on other threads see a whole catalog while it reloads")
    func concurrentReaders() async throws {
        final class Box: @unchecked Sendable { var bytes: [UInt8]; var stamp: Double = 0; init(_ b: [UInt8]) { bytes = b } }
        let lock = NSLock()
        let box = Box(Array(good1.utf8))
        let probe = PriceCatalogSource.FileProbe(
            stat: { _ in lock.withLock { (UInt64(box.bytes.count), box.stamp) } },
            read: { _ in lock.withLock { box.bytes } })
        let source = try PriceCatalogSource(path: "mem.yaml", probe: probe)
        let texts = [good1, good2]
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    for _ in 0..<2000 {
                        let p = source.current.compute[0].usdPerHour.description
                        #expect(p == "0.096" || p == "0.2")
                    }
                }
            }
            group.addTask {
                for i in 0..<200 {
                    lock.withLock { box.bytes = Array(texts[i % 2].utf8); box.stamp = Double(i + 1) }
                    _ = source.poll()
                }
            }
        }
        #expect(source.failureCount == 0)
    }
}
