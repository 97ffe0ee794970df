internal import Synchronization
internal import Foundation

/// The catalog file in force, reloaded on change without a restart (docs/pricing.md).
///
/// Thread-safe: `current` is read under a `Mutex` (a pointer copy) and `version` is an atomic, so a
/// shard can check `version` per batch for the price of one relaxed load and take `current` only
/// when it moved. `poll()` (one caller, e.g. a timer task) compares the file's size and modification
/// time, then its content hash, and parses only when the bytes changed. A file that fails to read or
/// validate leaves the last good catalog in force; the failure is counted and kept in `lastError`
/// (reported once per distinct bad content, not once per poll). The caller logs and exports metrics
/// from `poll()`'s result: this type does not log.
///
/// This is the one place in Pricing that does I/O (stat + read of one file), kept behind `FileProbe`.
public final class PriceCatalogSource: Sendable {
    /// What one `poll()` did.
    public enum PollResult: Sendable, Equatable {
        /// Same size, time and content: nothing to do.
        case unchanged
        /// A new catalog is in force.
        case reloaded(version: UInt64, contentHash: UInt64)
        /// The file changed but was refused (or could not be read): the last good catalog stays.
        case failed(PricingCatalogError)
    }

    /// Reads a file's size, modification time and bytes. Replaceable in tests.
    public struct FileProbe: Sendable {
        public var stat: @Sendable (String) -> (size: UInt64, modified: Double)?
        public var read: @Sendable (String) -> [UInt8]?
        public init(stat: @escaping @Sendable (String) -> (size: UInt64, modified: Double)?, read: @escaping @Sendable (String) -> [UInt8]?) {
            self.stat = stat
            self.read = read
        }

        /// The real file system (Foundation).
        public static let fileSystem = FileProbe(
            stat: { path in
                guard let attrs = try? FileManager.default.attributesOfItem(atPath: path),
                      let size = (attrs[.size] as? NSNumber)?.uint64Value,
                      let date = attrs[.modificationDate] as? Date else { return nil }
                return (size, date.timeIntervalSince1970)
            },
            read: { path in
                guard let data = FileManager.default.contents(atPath: path) else { return nil }
                return [UInt8](data)
            })
    }

    private struct State {
        var catalog: PriceCatalog
        var size: UInt64?
        var modified: Double?
        /// Hash of the last content seen (good or bad), so an unchanged bad file is reported once.
        var seenHash: UInt64?
        var unreadableReported = false
        var failures: UInt64 = 0
        var lastError: PricingCatalogError?
    }

    public let path: String
    private let probe: FileProbe
    private let state: Mutex<State>
    private let versionCounter: Atomic<UInt64>

    /// Loads `path`; throws when the first load fails (there is no last good catalog yet).
    public init(path: String, probe: FileProbe = .fileSystem) throws(PricingCatalogError) {
        self.path = path
        self.probe = probe
        let stat = probe.stat(path)
        guard let bytes = probe.read(path) else {
            throw PricingCatalogError(code: .unreadable, file: path, line: 0, reason: "cannot read the file")
        }
        let catalog = try Self.parse(bytes, path: path)
        state = Mutex(State(catalog: catalog, size: stat?.size, modified: stat?.modified, seenHash: catalog.contentHash))
        versionCounter = Atomic(1)
    }

    private static func parse(_ bytes: [UInt8], path: String) throws(PricingCatalogError) -> PriceCatalog {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw PricingCatalogError(code: .unreadable, file: path, line: 0, reason: "the file is not UTF-8")
        }
        return try PriceCatalog(yaml: text, sourceName: path)
    }

    /// The catalog in force.
    public var current: PriceCatalog { state.withLock { $0.catalog } }

    /// Starts at 1 and grows by one per successful reload.
    public var version: UInt64 { versionCounter.load(ordering: .acquiring) }

    /// Reloads that failed since start.
    public var failureCount: UInt64 { state.withLock { $0.failures } }

    /// The most recent failure, cleared by the next successful reload.
    public var lastError: PricingCatalogError? { state.withLock { $0.lastError } }

    /// The catalog and its version when `version` differs from `known`, else nil (one atomic load).
    public func currentIfChanged(since known: UInt64) -> (catalog: PriceCatalog, version: UInt64)? {
        guard versionCounter.load(ordering: .acquiring) != known else { return nil }
        return state.withLock { s in (s.catalog, versionCounter.load(ordering: .relaxed)) }
    }

    /// Checks the file and reloads it when its bytes changed. Call from one task at a time (a timer);
    /// the file is read and parsed outside the lock, so readers never wait for a parse.
    public func poll() -> PollResult {
        let stat = probe.stat(path)
        let (sameStat, seenHash) = state.withLock { s in
            (stat != nil && s.size == stat?.size && s.modified == stat?.modified, s.seenHash)
        }
        if sameStat { return .unchanged }
        guard let bytes = probe.read(path) else {
            let error = PricingCatalogError(code: .unreadable, file: path, line: 0, reason: "cannot read the file (keeping the last good catalog)")
            return state.withLock { s in
                if s.unreadableReported { return .unchanged }
                s.unreadableReported = true
                s.size = nil
                s.modified = nil
                s.seenHash = nil
                s.failures += 1
                s.lastError = error
                return .failed(error)
            }
        }
        let hash = bytes.withUnsafeBytes { fnv1a64($0) }
        if hash == seenHash {
            state.withLock { s in
                s.size = stat?.size
                s.modified = stat?.modified
                s.unreadableReported = false
            }
            return .unchanged
        }
        do {
            let catalog = try Self.parse(bytes, path: path)
            return state.withLock { s in
                s.catalog = catalog
                s.size = stat?.size
                s.modified = stat?.modified
                s.seenHash = hash
                s.unreadableReported = false
                s.lastError = nil
                // Bumped under the lock so `currentIfChanged` never pairs a new version with an old catalog.
                let v = versionCounter.add(1, ordering: .releasing).newValue
                return .reloaded(version: v, contentHash: catalog.contentHash)
            }
        } catch {
            return state.withLock { s in
                s.size = stat?.size
                s.modified = stat?.modified
                s.seenHash = hash
                s.unreadableReported = false
                s.failures += 1
                s.lastError = error
                return .failed(error)
            }
        }
    }
}
