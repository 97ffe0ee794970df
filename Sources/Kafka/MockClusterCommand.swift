internal import CRdKafka

/// One fault-control command for a ``MockKafkaCluster``, parsed from a line of text (the protocol of
/// `traceledger mock-kafka`'s stdin). Grammar (words separated by blanks; names case-insensitive):
///
///     broker down <id|-1>            broker up <id|-1>
///     leader <topic> <partition> <broker|-1>
///     errors <api-key> <count> <error-code>     e.g. `errors Fetch 3 NOT_LEADER_FOR_PARTITION`
///     clear <api-key>
///     rtt <broker> <ms>
///     coordinator group|transaction <key> <broker>
///     ping
///
/// `<api-key>` is a Kafka API name (`Produce`, `Fetch`, `ListOffsets`, `Metadata`, `OffsetCommit`,
/// `OffsetFetch`, `FindCoordinator`, `JoinGroup`, `Heartbeat`, `LeaveGroup`, `SyncGroup`) or its number
/// (0...32767); `<error-code>` is librdkafka's name without `RD_KAFKA_RESP_ERR_` (`REQUEST_TIMED_OUT`,
/// `NOT_COORDINATOR`, `_TRANSPORT`, …) or its number. Guarantees: parsing is pure (no cluster touched),
/// every numeric field is range-checked, and a line that does not parse names what is wrong; `count` is
/// bounded by ``countMax`` so that one command cannot queue unbounded errors in the mock.
public enum MockClusterCommand: Sendable, Equatable {
    case brokerDown(Int32)
    case brokerUp(Int32)
    case leader(topic: String, partition: Int32, broker: Int32)
    case errors(MockKafkaCluster.APIKey, count: Int, code: KafkaError.Code)
    case clearErrors(MockKafkaCluster.APIKey)
    case rtt(broker: Int32, milliseconds: Int)
    case coordinator(kind: String, key: String, broker: Int32)
    case ping

    /// The most errors one `errors` command may push.
    public static let countMax = 10_000
    /// The largest RTT one `rtt` command may set (ms).
    public static let rttMillisecondsMax = 60_000

    /// Why a line is not a command.
    public struct ParseError: Error, Equatable, CustomStringConvertible, Sendable {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    static let apiKeysByName: [String: Int16] = [
        "produce": 0, "fetch": 1, "listoffsets": 2, "metadata": 3, "offsetcommit": 8, "offsetfetch": 9,
        "findcoordinator": 10, "joingroup": 11, "heartbeat": 12, "leavegroup": 13, "syncgroup": 14,
        "describegroups": 15, "listgroups": 16, "apiversions": 18, "initproducerid": 22,
    ]

    /// Parses one line (surrounding blanks ignored).
    public static func parse(_ line: String) throws(ParseError) -> MockClusterCommand {
        let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let verb = w.first?.lowercased() else { throw ParseError("empty command") }
        func arity(_ n: Int, _ usage: String) throws(ParseError) {
            guard w.count == n else { throw ParseError("usage: \(usage)") }
        }
        func int(_ s: String, _ what: String, _ range: ClosedRange<Int>) throws(ParseError) -> Int {
            guard let v = Int(s), range.contains(v) else { throw ParseError("\(what) '\(s)': expected an integer in \(range)") }
            return v
        }
        func broker(_ s: String) throws(ParseError) -> Int32 { Int32(try int(s, "broker", -1...Int(Int32.max))) }
        switch verb {
        case "broker":
            try arity(3, "broker down|up <id|-1>")
            let id = try broker(w[2])
            switch w[1].lowercased() {
            case "down": return .brokerDown(id)
            case "up": return .brokerUp(id)
            default: throw ParseError("broker '\(w[1])': expected down or up")
            }
        case "leader":
            try arity(4, "leader <topic> <partition> <broker|-1>")
            return .leader(topic: w[1], partition: Int32(try int(w[2], "partition", 0...Int(Int32.max))), broker: try broker(w[3]))
        case "errors":
            try arity(4, "errors <api-key> <count> <error-code>")
            return .errors(try apiKey(w[1]), count: try int(w[2], "count", 1...countMax), code: try errorCode(w[3]))
        case "clear":
            try arity(2, "clear <api-key>")
            return .clearErrors(try apiKey(w[1]))
        case "rtt":
            try arity(3, "rtt <broker> <ms>")
            return .rtt(broker: try broker(w[1]), milliseconds: try int(w[2], "ms", 0...rttMillisecondsMax))
        case "coordinator":
            try arity(4, "coordinator group|transaction <key> <broker>")
            let kind = w[1].lowercased()
            guard kind == "group" || kind == "transaction" else {
                throw ParseError("coordinator '\(w[1])': expected group or transaction")
            }
            return .coordinator(kind: kind, key: w[2], broker: Int32(try int(w[3], "broker", 1...Int(Int32.max))))
        case "ping":
            try arity(1, "ping")
            return .ping
        default:
            throw ParseError("unknown command '\(w[0])' (broker, leader, errors, clear, rtt, coordinator, ping)")
        }
    }

    /// An API key by name (case-insensitive) or number.
    public static func apiKey(_ s: String) throws(ParseError) -> MockKafkaCluster.APIKey {
        if let n = Int16(s), n >= 0 { return MockKafkaCluster.APIKey(rawValue: n) }
        guard let n = apiKeysByName[s.lowercased()] else {
            throw ParseError("api key '\(s)': expected a number or one of \(apiKeysByName.keys.sorted().joined(separator: ", "))")
        }
        return MockKafkaCluster.APIKey(rawValue: n)
    }

    /// An error code by librdkafka name (case-insensitive, with or without `RD_KAFKA_RESP_ERR_`) or number.
    /// Only codes librdkafka knows are accepted.
    public static func errorCode(_ s: String) throws(ParseError) -> KafkaError.Code {
        var descs: UnsafePointer<rd_kafka_err_desc>?
        var count = 0
        rd_kafka_get_err_descs(&descs, &count)
        var wanted = s.uppercased()
        if wanted.hasPrefix("RD_KAFKA_RESP_ERR_") { wanted.removeFirst("RD_KAFKA_RESP_ERR_".count) }
        let number = Int32(s)
        if let descs {
            for i in 0..<count {
                // Safe: librdkafka's static table of `count` entries; unused slots have a NULL name.
                let d = descs[i]
                guard let name = d.name else { continue }
                if let number, d.code.rawValue == number { return KafkaError.Code(rawValue: number) }
                if number == nil, String(cString: name) == wanted { return KafkaError.Code(rawValue: d.code.rawValue) }
            }
        }
        throw ParseError("error code '\(s)': not a librdkafka error name or number (e.g. REQUEST_TIMED_OUT, NOT_COORDINATOR, _TRANSPORT)")
    }
}

extension MockKafkaCluster {
    /// Applies one control command to this cluster.
    /// - Throws: `KafkaError` when the mock refuses it (an unknown broker, topic or partition).
    public func apply(_ command: MockClusterCommand) throws(KafkaError) {
        switch command {
        case .brokerDown(let id): try setBrokerDown(id)
        case .brokerUp(let id): try setBrokerUp(id)
        case .leader(let topic, let partition, let broker): try setPartitionLeader(topic: topic, partition: partition, broker: broker)
        case .errors(let api, let count, let code): pushRequestErrors(api, Array(repeating: code, count: count))
        case .clearErrors(let api): clearRequestErrors(api)
        case .rtt(let broker, let ms): try setBrokerRTT(broker, milliseconds: ms)
        case .coordinator(let kind, let key, let broker): try setCoordinator(kind: kind, key: key, broker: broker)
        case .ping: break
        }
    }
}
