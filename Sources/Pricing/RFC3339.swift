/// RFC 3339 instants (`from:` in the catalog), to and from nanoseconds since the Unix epoch.
enum RFC3339 {
    /// Why a text is not an RFC 3339 date-time.
    enum Failure: Error, Equatable {
        case malformed(String)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` (`T`/`t`, `Z`/`z`; up to 9 fractional digits;
    /// leap second 60 refused). Returns nanoseconds since 1970-01-01T00:00:00Z.
    static func parse(_ text: String) throws(Failure) -> Int128 {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ count: Int, _ what: String) throws(Failure) -> Int {
            guard i + count <= b.count else { throw .malformed("\(what) missing") }
            var v = 0
            for _ in 0..<count {
                let c = b[i]
                guard c >= 48 && c <= 57 else { throw .malformed("\(what) must be \(count) digits") }
                v = v * 10 + Int(c - 48)
                i += 1
            }
            return v
        }
        func expect(_ chars: String, _ what: String) throws(Failure) {
            guard i < b.count, chars.utf8.contains(b[i]) else { throw .malformed("expected \(what)") }
            i += 1
        }
        let year = try digits(4, "year")
        try expect("-", "'-' after the year")
        let month = try digits(2, "month")
        try expect("-", "'-' after the month")
        let day = try digits(2, "day")
        try expect("Tt", "'T' between date and time (RFC 3339 needs a time and a zone)")
        let hour = try digits(2, "hour")
        try expect(":", "':' after the hour")
        let minute = try digits(2, "minute")
        try expect(":", "':' after the minute")
        let second = try digits(2, "second")
        var nanos = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var count = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                count += 1
                guard count <= 9 else { throw .malformed("more than 9 fractional second digits") }
                nanos = nanos * 10 + Int(b[i] - 48)
                i += 1
            }
            guard count > 0 else { throw .malformed("digits expected after '.'") }
            for _ in count..<9 { nanos *= 10 }
        }
        var offsetSeconds = 0
        guard i < b.count else { throw .malformed("time zone missing (Z or ±HH:MM)") }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            let oh = try digits(2, "zone hour")
            try expect(":", "':' in the zone offset")
            let om = try digits(2, "zone minute")
            guard oh <= 23, om <= 59 else { throw .malformed("zone offset out of range") }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        } else {
            throw .malformed("time zone missing (Z or ±HH:MM)")
        }
        guard i == b.count else { throw .malformed("unexpected text after the time zone") }
        guard month >= 1 && month <= 12 else { throw .malformed("month out of range") }
        guard day >= 1 && day <= daysIn(month: month, year: year) else { throw .malformed("day out of range") }
        guard hour <= 23 else { throw .malformed("hour out of range") }
        guard minute <= 59 else { throw .malformed("minute out of range") }
        guard second <= 59 else { throw .malformed("second out of range (leap seconds are not supported)") }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int128(days) * 86_400 + Int128(hour * 3600 + minute * 60 + second) - Int128(offsetSeconds)
        return seconds * 1_000_000_000 + Int128(nanos)
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        Int(CivilDate.daysSinceUnixEpoch(year: Int64(year), month: Int64(month), day: Int64(day)))
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fffffffff]Z` in UTC.
    static func format(_ nanosSinceEpoch: Int128) -> String {
        var seconds = nanosSinceEpoch / 1_000_000_000
        var nanos = nanosSinceEpoch % 1_000_000_000
        if nanos < 0 { nanos += 1_000_000_000; seconds -= 1 }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 { secondOfDay += 86_400; days -= 1 }
        let civil = CivilDate.fromDaysSinceUnixEpoch(Int64(days))
        let (y, m, d) = (Int(civil.year), Int(civil.month), Int(civil.day))
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        let sod = Int(secondOfDay)
        var out = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(sod / 3600, 2)):\(pad(sod / 60 % 60, 2)):\(pad(sod % 60, 2))"
        if nanos != 0 {
            var frac = pad(Int(nanos), 9)
            while frac.hasSuffix("0") { frac.removeLast() }
            out += "." + frac
        }
        return out + "Z"
    }
}

/// Howard Hinnant's `days_from_civil` / `civil_from_days` (proleptic Gregorian calendar, UTC): the one
/// copy of the date arithmetic that RFC 3339 parsing, the epoch's month and hour buckets and the ledger's
/// partitions share.
///
/// Guarantees: exact for every day count with |days| < 2^50 (and every year with |year| < 2^40); the two
/// functions are inverse to each other; no division by a value that can be zero, no trap in that range.
public enum CivilDate {
    /// Days from 1970-01-01 to `year-month-day` (`month` 1...12, `day` 1...31; not checked).
    public static func daysSinceUnixEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01: (year, month 1...12, day 1...31).
    public static func fromDaysSinceUnixEpoch(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
