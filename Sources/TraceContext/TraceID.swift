/// A W3C / OpenTelemetry trace id: 16 bytes, held as two big-endian halves so that it is a plain
/// `Sendable` value with no heap storage. The all-zero id is representable (callers decide whether it
/// is valid; W3C says it is not).
public struct TraceID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Bytes 0..<8, big-endian.
    public var high: UInt64
    /// Bytes 8..<16, big-endian.
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Reads 16 raw bytes; nil unless exactly 16 bytes are given.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 16 else { return nil }
        self.high = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        self.low = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    public var isZero: Bool { high == 0 && low == 0 }

    /// The 16 bytes, big-endian (as stored in Postgres `bytea` and on the OTLP wire).
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: low >> UInt64(shift))) }
        return out
    }

    /// 32 lowercase hex digits.
    public var description: String { hex64(high) + hex64(low) }

    public static func < (a: TraceID, b: TraceID) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }
}

/// A span id: 8 bytes, big-endian in one `UInt64`. Zero means "none" (e.g. no parent).
public struct SpanID: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var isZero: Bool { value == 0 }
    /// 16 lowercase hex digits.
    public var description: String { hex64(value) }
}

@inline(__always)
func hex64(_ v: UInt64) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    return String(unsafeUninitializedCapacity: 16) { buf in
        for i in 0..<16 {
            buf[i] = digits[Int((v >> UInt64(60 - 4 * i)) & 0xF)]
        }
        return 16
    }
}
