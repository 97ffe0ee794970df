#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The decoded `Resource`s of recent records, so that a record whose resource is byte for byte one
/// seen recently is not decoded again. SDK-style records of one to three spans each carry their
/// service's whole resource (a dozen or more attributes), which otherwise costs as much to decode as
/// the spans.
///
/// Guarantees:
/// - A hit is exact: the record's resource bytes are compared in full with the stored copy; the hash
///   only picks the slot. The answer is what decoding those bytes gives (it was decoded from the copy).
/// - Bounded: ``slotCount`` slots of at most ``maxResourceBytes`` each (larger resources are decoded
///   every time), so at most 64 × 4 KiB per cache, allocated once per slot and reused.
/// - The `KnownAttributes` it hands out point into its own copies, which stay unchanged until the
///   next ``beginRecord()``: a slot used by the current record is never replaced, so every span of a
///   record (several `ResourceSpans` included) sees valid bytes until the record is done.
/// - One owner: not thread-safe, not `Sendable` (one per shard's `RecordProcessor`).
public final class ResourceCache {
    public static let slotCount = 64
    public static let maxResourceBytes = 4096

    private struct Slot {
        var storage: UnsafeMutableRawPointer?
        /// Whether `storage` holds `count` bytes that decoded to `attributes`.
        var valid = false
        var count = 0
        var hash: UInt64 = 0
        var attributes = KnownAttributes()
        /// The record that last used this slot (``ResourceCache/record``); 0 = never.
        var usedInRecord: UInt64 = 0
    }

    private var slots: [Slot]
    private var record: UInt64 = 0
    /// Lookups answered from a stored copy / lookups made (for tests and benchmarks).
    public private(set) var hits = 0, lookups = 0

    public init() {
        slots = Array(repeating: Slot(), count: Self.slotCount)
    }

    deinit {
        for s in slots { s.storage?.deallocate() }
    }

    /// A new record starts: the previous record's spans are done with the attributes handed out.
    public func beginRecord() { record &+= 1 }

    /// The stored attributes of a resource with exactly these bytes, nil if none is stored.
    func lookup(_ bytes: UnsafeRawBufferPointer, hash: UInt64) -> KnownAttributes? {
        lookups &+= 1
        let i = Int(truncatingIfNeeded: hash % UInt64(Self.slotCount))
        guard slots[i].valid, slots[i].hash == hash, slots[i].count == bytes.count, let stored = slots[i].storage,
            let base = bytes.baseAddress, memcmp(stored, base, bytes.count) == 0
        else { return nil }
        hits &+= 1
        slots[i].usedInRecord = record
        return slots[i].attributes
    }

    /// Stores a copy of `bytes` and the attributes `decode` reads from that copy; returns them, or nil
    /// when the bytes are too large, the slot is in use by the current record, or `decode` fails.
    func store(
        _ bytes: UnsafeRawBufferPointer, hash: UInt64, decode: (UnsafeRawPointer, Int) -> KnownAttributes?
    ) -> KnownAttributes? {
        guard bytes.count <= Self.maxResourceBytes, let base = bytes.baseAddress else { return nil }
        let i = Int(truncatingIfNeeded: hash % UInt64(Self.slotCount))
        guard slots[i].usedInRecord != record else { return nil }
        let storage: UnsafeMutableRawPointer
        if let s = slots[i].storage {
            storage = s
        } else {
            storage = UnsafeMutableRawPointer.allocate(byteCount: Self.maxResourceBytes, alignment: 8)
            slots[i].storage = storage
        }
        slots[i].valid = false
        storage.copyMemory(from: base, byteCount: bytes.count)
        guard let attributes = decode(UnsafeRawPointer(storage), bytes.count) else { return nil }
        slots[i].valid = true
        slots[i].count = bytes.count
        slots[i].hash = hash
        slots[i].attributes = attributes
        slots[i].usedInRecord = record
        return attributes
    }
}
