public import Aggregation
/// A query parameter, sent to the server in binary format with an explicit type OID.
///
/// Guarantees: a plain `Sendable` value; its bytes reach libpq only inside `PGConnection.execute`.
public enum PGValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int4(Int32)
    case int8(Int64)
    case text(String)
    /// `bytea`, e.g. a 16-byte trace id.
    case bytea([UInt8])
    /// `timestamptz` from microseconds since 1970-01-01 00:00 UTC.
    case timestamptz(unixMicros: Int64)
    /// `date` of a month's first day.
    case monthStart(Month)

    var typeOID: UInt32 {
        switch self {
        case .null: return 0  // unknown: the server infers it
        case .bool: return 16
        case .int4: return 23
        case .int8: return 20
        case .text: return 25
        case .bytea: return 17
        case .timestamptz: return 1184
        case .monthStart: return 1082
        }
    }

    /// Appends the binary send format; returns true for NULL (nothing appended).
    func encodeBinary(into buffer: inout [UInt8]) -> Bool {
        switch self {
        case .null: return true
        case .bool(let value): buffer.append(value ? 1 : 0)
        case .int4(let value): buffer.appendBigEndian(value)
        case .int8(let value): buffer.appendBigEndian(value)
        case .text(let value): buffer.append(contentsOf: value.utf8)
        case .bytea(let value): buffer.append(contentsOf: value)
        case .timestamptz(let unixMicros): buffer.appendBigEndian(PGTime.postgresMicros(unixMicros: unixMicros))
        case .monthStart(let month): buffer.appendBigEndian(month.postgresDays)
        }
        return false
    }
}

/// Conversions between Unix time and PostgreSQL's binary epoch (2000-01-01 00:00 UTC).
enum PGTime {
    /// Seconds from 1970-01-01 to 2000-01-01.
    static let unixToPostgresSeconds: Int64 = 946_684_800
    static let unixToPostgresDays: Int64 = 10_957

    static func postgresMicros(unixMicros: Int64) -> Int64 {
        // Timestamps here are ≤ year 9999 (validated months), far from Int64's range. Safe: no wrap.
        unixMicros &- unixToPostgresSeconds &* 1_000_000
    }

    /// Floor division (rounds toward −∞, unlike `/`).
    static func floorDiv(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    static func unixMicros(fromNanos nanos: Int64) -> Int64 { floorDiv(nanos, 1000) }

    /// Milliseconds since the Unix epoch from a record (untrusted) → microseconds, or nil outside
    /// years 1 ... 9999 (never a wrapped value, never one `timestamptz` refuses).
    static func unixMicros(fromMillis millis: Int64) -> Int64? {
        guard millis >= -62_135_596_800_000, millis <= 253_402_300_799_999 else { return nil }
        return millis * 1000  // Safe: |millis| < 2.6e14, so the product < 2.6e17.
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}
