/// A fast, non-cryptographic 64-bit hash of bytes, for caches that pick a slot by it and then compare
/// every byte (``ResourceCache``, the fold's key strings). Not for hash tables that trust it, and not
/// stable across versions.
///
/// Inputs of 32 bytes or more run four independent multiply chains over 32-byte blocks (a resource of
/// ~1 KiB hashed per SDK record was ~4 % of a worker's CPU with one serial chain); shorter inputs and
/// the tail run one chain, eight bytes at a time.
public enum ByteHash {
    public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard let base = bytes.baseAddress else { return 0 }
        let count = bytes.count
        var h = UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15
        var i = 0
        if count >= 32 {
            var a = h ^ 0x243F_6A88_85A3_08D3, b = h ^ 0x1319_8A2E_0370_7344
            var c = h ^ 0xA409_3822_299F_31D0, d = h ^ 0x082E_FA98_EC4E_6C89
            while i + 32 <= count {
                a = mix(a, base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                b = mix(b, base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
                c = mix(c, base.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self))
                d = mix(d, base.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self))
                i += 32
            }
            h = mix(mix(mix(mix(h, a), b), c), d)
        }
        while i + 8 <= count {
            h = mix(h, base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        while i < count {
            h = (h ^ UInt64(base.load(fromByteOffset: i, as: UInt8.self))) &* 0x94D0_49BB_1331_11EB
            i += 1
        }
        return h ^ (h >> 29)
    }

    @inline(__always)
    static func mix(_ h: UInt64, _ word: UInt64) -> UInt64 {
        let m = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
        return m ^ (m >> 31)
    }
}
