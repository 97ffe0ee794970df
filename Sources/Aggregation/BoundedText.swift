/// Strings taken from records that become part of a ledger key, a row, a metric label or a log line.
///
/// Guarantees: the result is valid UTF-8 (invalid sequences become U+FFFD), holds no NUL (PostgreSQL
/// `text` refuses 0x00; each NUL becomes U+FFFD), and is at most `limit` bytes. A longer value keeps its
/// longest UTF-8-safe prefix that leaves room for `…` and 16 hex digits of the FNV-1a-64 hash of the
/// ORIGINAL bytes, so distinct long values stay distinct keys (up to a 64-bit hash collision) while no
/// key can exceed PostgreSQL's btree row limit (~2.7 KB). Values within the limit are unchanged.
public enum BoundedText {
    /// Cap of every string that is part of a key or a row: transaction (root span name), service,
    /// environment, session id, parent session, model.
    public static let keyLimit = 256
    /// Cap of `rejected_records.detail` and log details built from record contents.
    public static let detailLimit = 2048

    /// `bytes` as a bounded key string (see the type's guarantees).
    public static func key(_ bytes: UnsafeRawBufferPointer, limit: Int = keyLimit) -> String {
        if bytes.count <= limit, !containsNUL(bytes) {
            let s = String(decoding: bytes, as: UTF8.self)
            // Repairing invalid UTF-8 can grow the string (1 byte → 3 for U+FFFD), never add a NUL
            // (U+FFFD is EF BF BD): the bytes had none, so neither has `s`.
            if s.utf8.count <= limit { return s }
        }
        return bounded(bytes, limit: limit)
    }

    /// A Swift string (e.g. a baggage value) as a bounded key string: the same as `key` of its UTF-8
    /// bytes. A string that is already a bounded key (a Swift string is valid UTF-8: within `limit`
    /// and without NUL) comes back as it is, without a copy.
    public static func key(_ s: String, limit: Int = keyLimit) -> String {
        if s.utf8.count <= limit, !s.utf8.contains(0) { return s }
        var copy = s
        return copy.withUTF8 { key(UnsafeRawBufferPointer($0), limit: limit) }
    }

    private static func containsNUL(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for b in bytes where b == 0 { return true }
        return false
    }

    private static func bounded(_ bytes: UnsafeRawBufferPointer, limit: Int) -> String {
        var repaired = String(decoding: bytes, as: UTF8.self)
        if repaired.utf8.contains(0) {
            repaired = String(String.UnicodeScalarView(repaired.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 }))
        }
        if repaired.utf8.count <= limit { return repaired }
        let hash = fnv1a64(bytes)
        let digits = Array("0123456789abcdef".utf8)
        var suffix = Array("…".utf8)
        for shift in stride(from: 60, through: 0, by: -4) { suffix.append(digits[Int((hash >> UInt64(shift)) & 0xF)]) }
        let budget = max(0, limit - suffix.count)
        var prefix: [UInt8] = []
        prefix.reserveCapacity(limit)
        for scalar in repaired.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            if prefix.count + encoded.count > budget { break }
            prefix += encoded
        }
        return String(decoding: prefix + suffix, as: UTF8.self)
    }

    /// FNV-1a, 64 bit.
    static func fnv1a64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }
}
