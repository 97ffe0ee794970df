public import Aggregation
import Foundation

/// Builds the byte stream of `COPY … FROM STDIN (FORMAT binary)` (PostgreSQL `copy.sgml`, "Binary Format").
///
/// Guarantees: starts with the 19-byte header (`PGCOPY\n\377\r\n\0`, flags 0, extension length 0);
/// ``finish()`` appends the trailer (int16 −1) exactly once. Each row must be started with
/// ``beginRow(fieldCount:)`` and then get exactly that many fields (checked with `precondition`: a wrong
/// count is a bug in the caller, not bad input). All integers are big-endian, values in send format.
public struct BinaryCopyEncoder: Sendable {
    public private(set) var bytes: [UInt8]
    public private(set) var rowCount = 0
    private var fieldsLeftInRow = 0
    private var finished = false

    static let signature: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]

    public init(reservingCapacity capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(max(capacity, 64))
        bytes.append(contentsOf: Self.signature)
        bytes.appendBigEndian(Int32(0))  // flags
        bytes.appendBigEndian(Int32(0))  // header extension length
    }

    public mutating func beginRow(fieldCount: Int16) {
        precondition(fieldsLeftInRow == 0 && !finished, "previous COPY row incomplete or encoder finished")
        bytes.appendBigEndian(fieldCount)
        fieldsLeftInRow = Int(fieldCount)
        rowCount += 1
    }

    @inline(__always)
    private mutating func field() {
        precondition(fieldsLeftInRow > 0, "more COPY fields than beginRow declared")
        fieldsLeftInRow -= 1
    }

    public mutating func appendNull() {
        field()
        bytes.appendBigEndian(Int32(-1))
    }

    public mutating func appendInt8(_ value: Int64) {
        field()
        bytes.appendBigEndian(Int32(8))
        bytes.appendBigEndian(value)
    }

    public mutating func appendInt4(_ value: Int32) {
        field()
        bytes.appendBigEndian(Int32(4))
        bytes.appendBigEndian(value)
    }

    public mutating func appendBool(_ value: Bool) {
        field()
        bytes.appendBigEndian(Int32(1))
        bytes.append(value ? 1 : 0)
    }

    /// `text` (UTF-8 bytes). PostgreSQL text cannot hold NUL (22021 would fail the whole COPY, every
    /// retry), so a NUL character is replaced by U+FFFD.
    public mutating func appendText(_ value: String) {
        field()
        let lengthAt = bytes.count
        bytes.appendBigEndian(Int32(0))
        if value.utf8.contains(0) {
            bytes.append(contentsOf: value.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}").utf8)
        } else {
            bytes.append(contentsOf: value.utf8)
        }
        setLength(at: lengthAt)
    }

    public mutating func appendText(_ value: String?) {
        if let value { appendText(value) } else { appendNull() }
    }

    public mutating func appendBytea(_ value: some Collection<UInt8>) {
        field()
        bytes.appendBigEndian(Int32(value.count))
        bytes.append(contentsOf: value)
    }

    /// A 16-byte `bytea` from two big-endian halves (a trace id), without an intermediate array.
    public mutating func appendBytea16(high: UInt64, low: UInt64) {
        field()
        bytes.appendBigEndian(Int32(16))
        bytes.appendBigEndian(high)
        bytes.appendBigEndian(low)
    }

    /// `timestamptz` from microseconds since the Unix epoch.
    public mutating func appendTimestamptz(unixMicros: Int64) {
        field()
        bytes.appendBigEndian(Int32(8))
        bytes.appendBigEndian(PGTime.postgresMicros(unixMicros: unixMicros))
    }

    /// `date` of the month's first day.
    public mutating func appendDate(_ month: Month) {
        appendDate(postgresDays: month.postgresDays)
    }

    /// `date` given as days since 2000-01-01 (PostgreSQL's binary form).
    mutating func appendDate(postgresDays days: Int32) {
        field()
        bytes.appendBigEndian(Int32(4))
        bytes.appendBigEndian(days)
    }

    /// Appends the trailer and returns the complete stream.
    public mutating func finish() -> [UInt8] {
        precondition(fieldsLeftInRow == 0, "last COPY row incomplete")
        if !finished {
            bytes.appendBigEndian(Int16(-1))
            finished = true
        }
        return bytes
    }

    private mutating func setLength(at index: Int) {
        let length = Int32(bytes.count - index - 4)  // Safe: one text value < 1 GiB (server limit).
        Swift.withUnsafeBytes(of: length.bigEndian) { raw in
            for offset in 0..<4 { bytes[index + offset] = raw[offset] }
        }
    }
}
