internal import CRdKafka
import Logging
import Synchronization

/// Routes librdkafka's log lines to a swift-log `Logger`. librdkafka calls the log callback on its own
/// threads; `Logger` is `Sendable`, so that is safe. No line reaches stderr (a `log_cb` replaces
/// librdkafka's default printer, and without an `error_cb` errors become log lines).
///
/// Each handle's C `opaque` points to an object conforming to this protocol (unretained: the Swift
/// owner destroys the handle before it releases the object).
protocol RDKafkaLogSink: AnyObject {
    var logger: Logger { get }
    /// Where broker-unreachable lines are kept instead of printed.
    var brokerNoise: BrokerNoise { get }
}

/// librdkafka's "cannot reach a broker" lines (`Connect to … failed`, `N/N brokers are down`,
/// disconnects), which it repeats every few seconds while a broker is down and prints by the dozen when
/// a cluster goes away at shutdown. They are logged at debug only; the owner of the handle says it once,
/// clearly (the pipeline names the brokers and the `kafka.brokers` key), from what is kept here.
/// Thread-safe: written from librdkafka's threads.
final class BrokerNoise: Sendable {
    private let state = Mutex<(allDown: Bool, firstDetail: String?)>((false, nil))

    /// Whether a log line is broker-reachability noise.
    static func isNoise(facility: String, text: String) -> Bool {
        guard facility == "FAIL" || facility == "ERROR" || facility == "BROKERFAIL" else { return false }
        return text.contains("brokers are down") || text.contains("Connect to ") || text.contains("Connection refused")
            || text.contains("Disconnected") || text.contains("Failed to resolve")
    }

    func note(text: String) {
        state.withLock { s in
            if text.contains("brokers are down") { s.allDown = true }
            if s.firstDetail == nil { s.firstDetail = text }
        }
    }

    /// Whether "all brokers are down" was reported since the last call, with the first such line kept.
    func takeAllDown() -> String? {
        state.withLock { s in
            guard s.allDown else { return nil }
            s.allDown = false
            defer { s.firstDetail = nil }
            return s.firstDetail ?? "all brokers are down"
        }
    }
}

/// librdkafka syslog level → swift-log level.
func logLevel(_ syslog: Int32) -> Logger.Level {
    switch syslog {
    case ...2: return .critical
    case 3: return .error
    case 4: return .warning
    case 5: return .notice
    case 6: return .info
    default: return .debug
    }
}

/// Builds an `rd_kafka_conf_t` from string properties and creates the handle. On success the conf
/// belongs to the handle; on any failure this function frees it (ownership moves only on success).
/// - Parameter configure: sets callbacks on the conf before `rd_kafka_new`.
func makeHandle(
    type: rd_kafka_type_t, properties: [String: String], opaque: UnsafeMutableRawPointer,
    configure: (OpaquePointer) -> Void
) throws(KafkaError) -> OpaquePointer {
    guard let conf = rd_kafka_conf_new() else {
        throw KafkaError(code: .fail, message: "rd_kafka_conf_new failed")
    }
    var errstr = [CChar](repeating: 0, count: 512)
    // Sorted so that errors (and librdkafka's resolution of aliases) are deterministic.
    for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
        let res = rd_kafka_conf_set(conf, name, value, &errstr, errstr.count)
        if res != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            let text = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError(code: .invalidArgument, message: "config \(name)=\(value): \(text)")
        }
    }
    rd_kafka_conf_set_opaque(conf, opaque)
    rd_kafka_conf_set_log_cb(conf) { rk, level, facility, buf in
        guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
        let sink = Unmanaged<AnyObject>.fromOpaque(opaque).takeUnretainedValue() as? any RDKafkaLogSink
        guard let sink else { return }
        let fac = facility.map { String(cString: $0) } ?? "?"
        let text = buf.map { String(cString: $0) } ?? ""
        var level = logLevel(level)
        if BrokerNoise.isNoise(facility: fac, text: text) {
            sink.brokerNoise.note(text: text)
            level = .debug
        }
        sink.logger.log(
            level: level, "\(text)",
            metadata: ["rdkafka.facility": "\(fac)", "rdkafka.name": "\(String(cString: rd_kafka_name(rk)))"])
    }
    configure(conf)
    guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
        rd_kafka_conf_destroy(conf)  // Not consumed on failure.
        let text = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw KafkaError(code: .fail, message: "rd_kafka_new: \(text)")
    }
    return rk
}

/// Milliseconds for librdkafka's `int timeout_ms` arguments, clamped to `0...Int32.max`.
func milliseconds(_ d: Duration) -> Int32 {
    let (s, atto) = d.components
    if s < 0 { return 0 }
    let ms = s.multipliedReportingOverflow(by: 1000)
    if ms.overflow { return Int32.max }
    return Int32(clamping: ms.partialValue + atto / 1_000_000_000_000_000)
}

/// The text in a NUL-terminated C buffer librdkafka wrote (error strings).
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
