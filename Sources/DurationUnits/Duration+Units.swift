/// The one place `Duration` is turned into plain numbers (rates, libc and Foundation time intervals,
/// database intervals). Every conversion is total: whole units truncate toward zero, and the integer
/// ones saturate at `Int64`'s bounds instead of trapping (a `Duration` holds up to ~2.9e11 years).
extension Duration {
    /// Seconds as a `Double` (rates, `TimeInterval`, `Thread.sleep`).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// Milliseconds as a `Double` (latency reports).
    public var inMilliseconds: Double {
        Double(components.seconds) * 1e3 + Double(components.attoseconds) / 1e15
    }

    /// Whole milliseconds, saturating.
    public var wholeMilliseconds: Int64 { Self.whole(components, perSecond: 1_000) }

    /// Whole microseconds, saturating.
    public var wholeMicroseconds: Int64 { Self.whole(components, perSecond: 1_000_000) }

    /// Whole nanoseconds, saturating.
    public var wholeNanoseconds: Int64 { Self.whole(components, perSecond: 1_000_000_000) }

    private static func whole(_ c: (seconds: Int64, attoseconds: Int64), perSecond: Int64) -> Int64 {
        let (scaled, overflow) = c.seconds.multipliedReportingOverflow(by: perSecond)
        if overflow { return c.seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(c.attoseconds / (1_000_000_000_000_000_000 / perSecond))
        if overflow2 { return c.seconds < 0 ? .min : .max }
        return sum
    }
}
