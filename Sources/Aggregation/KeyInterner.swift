import SpanDecoding

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The key strings (session ids, root span names, models, services, environments) of one shard's recent
/// spans, so that a span repeating a recent value reuses its `String` instead of allocating and
/// validating a new one. Session ids are UUID-like and most names pass Swift's 15-byte small-string
/// limit: without this, every span with a session would allocate once for its session key.
///
/// Guarantees:
/// - ``key(_:)`` returns exactly `BoundedText.key(bytes)`: a hit compares every byte of the request with
///   the stored string's UTF-8; the hash only picks the slot. Values that `BoundedText` changes (invalid
///   UTF-8, a NUL, longer than the key limit) are never stored, so a hit is always an unchanged value.
/// - Bounded: ``slotCount`` slots of one string of at most `BoundedText.keyLimit` bytes each.
/// - One owner: not thread-safe, not `Sendable` (one per shard's `RecordProcessor`).
public final class KeyInterner {
    public static let slotCount = 256
    /// Strings of at most this many UTF-8 bytes are stored inline by Swift (no allocation): not cached.
    static let smallStringBytes = 15

    private var slots: [String?]
    /// Lookups answered from a stored string / lookups made (tests and benchmarks).
    public private(set) var hits = 0, lookups = 0

    public init() {
        slots = Array(repeating: nil, count: Self.slotCount)
    }

    /// `BoundedText.key(bytes)`, from a recent span when one had the same bytes.
    public func key(_ bytes: UnsafeRawBufferPointer) -> String {
        guard bytes.count > Self.smallStringBytes, bytes.count <= BoundedText.keyLimit, let base = bytes.baseAddress else {
            return BoundedText.key(bytes)
        }
        lookups &+= 1
        let slot = Int(truncatingIfNeeded: ByteHash.of(bytes) & UInt64(Self.slotCount - 1))
        if var stored = slots[slot], stored.utf8.count == bytes.count {
            let same = stored.withUTF8 { utf8 in utf8.baseAddress.map { memcmp($0, base, bytes.count) == 0 } ?? false }
            if same {
                hits &+= 1
                return stored
            }
        }
        let made = BoundedText.key(bytes)
        // Only an unchanged value may be found again by its bytes.
        if made.utf8.count == bytes.count, made.utf8.elementsEqual(bytes) { slots[slot] = made }
        return made
    }
}
