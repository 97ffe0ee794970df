import ArgumentParser
import DedicatedThread
import Dispatch
import Foundation
import Kafka
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `traceledger mock-kafka`: hosts librdkafka's mock cluster in this process for other processes
/// (workers, kcat) to use over 127.0.0.1. Prints the bootstrap address as the first stdout line, then
/// runs until SIGTERM or SIGINT and exits 0.
///
/// Fault control: one command per stdin line (grammar: `MockClusterCommand`; blank lines and `#`
/// comments ignored), each answered by exactly one stdout line, in order: `ok <command>` once applied,
/// or `error <why>`. End of stdin ends the control, not the cluster.
struct MockKafkaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-kafka",
        abstract: "Host librdkafka's mock Kafka cluster; print its bootstrap address; run until SIGTERM/SIGINT.",
        discussion: """
            Fault control: one command per stdin line, each answered on stdout by `ok <command>` or `error <why>`:
              broker down <id|-1>        broker up <id|-1>
              leader <topic> <partition> <broker|-1>
              errors <api-key> <count> <error-code>   (e.g. errors Fetch 5 NOT_LEADER_FOR_PARTITION,
                                                      errors OffsetCommit 3 REQUEST_TIMED_OUT, errors Produce 2 _TRANSPORT)
              clear <api-key>
              rtt <broker|-1> <ms>
              coordinator group <group> <broker>
              ping
            API keys by name (Produce, Fetch, ListOffsets, Metadata, OffsetCommit, OffsetFetch, FindCoordinator,
            JoinGroup, Heartbeat, LeaveGroup, SyncGroup) or number; error codes by librdkafka name or number.
            """)

    @Option(help: "Number of brokers (ids 1...N).")
    var brokers: Int = 3

    @Option(name: .customLong("topic"), help: "A topic to create, NAME:PARTITIONS (repeatable).")
    var topics: [String] = []

    @Option(help: "librdkafka log level shown on stderr (trace, debug, info, notice, warning, error, critical).")
    var logLevel: String = "warning"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel): unknown level") }
        guard (1...64).contains(brokers) else { throw ValidationError("--brokers must be in 1...64") }
        for t in topics where Self.parseTopic(t) == nil {
            throw ValidationError("--topic \(t): expected NAME:PARTITIONS with PARTITIONS in 1...10000")
        }
    }

    static func parseTopic(_ s: String) -> (name: String, partitions: Int)? {
        guard let colon = s.lastIndex(of: ":") else { return nil }
        let name = String(s[..<colon])
        guard !name.isEmpty, let p = Int(s[s.index(after: colon)...]), (1...10_000).contains(p) else { return nil }
        return (name, p)
    }

    func run() async throws {
        var logger = Logger(label: "traceledger.mock-kafka")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning
        // Handle the signals ourselves (before the cluster exists, so none is lost to the default action).
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let cluster = try MockKafkaCluster(brokers: brokers, logger: logger)
        for t in topics {
            guard let (name, partitions) = Self.parseTopic(t) else { continue }  // validate() checked.
            try cluster.createTopic(name, partitions: partitions)
        }
        print(cluster.bootstrapServers)
        fflush(nil)  // All output streams: the reader waits for this line.
        DedicatedThread.start(name: "tl.mock-control") { Self.serveControl(cluster) }
        let signo = await Self.waitForTermination()
        logger.info("mock-kafka stopping", metadata: ["signal": "\(signo)"])
        withExtendedLifetime(cluster) {}
    }

    /// Reads commands from stdin until its end (blocking: runs on its own thread) and answers each.
    static func serveControl(_ cluster: MockKafkaCluster) {
        while let raw = readLine(strippingNewline: true) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            print(answer(line, cluster: cluster))
            fflush(nil)  // all streams (`stdout` is a C global the strict checker refuses)
        }
    }

    /// The one-line answer to one command line: `ok <line>` or `error <why>`.
    static func answer(_ line: String, cluster: MockKafkaCluster) -> String {
        do {
            let command = try MockClusterCommand.parse(line)
            try cluster.apply(command)
            return "ok \(line)"
        } catch let error as MockClusterCommand.ParseError {
            return "error \(error.description)"
        } catch {
            return "error \(line): \(error)"
        }
    }

    /// Suspends until SIGTERM or SIGINT arrives; returns its number.
    static func waitForTermination() async -> Int32 {
        let queue = DispatchQueue(label: "traceledger.mock-kafka.signals")
        let once = Once()
        var sources: [any DispatchSourceSignal] = []
        for signo in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: signo, queue: queue)
            source.setEventHandler { once.signalled(signo) }
            source.resume()
            sources.append(source)
        }
        let signo = await withCheckedContinuation { once.wait($0) }
        for source in sources { source.cancel() }
        return signo
    }
}

/// Hands the first signal to the waiting continuation, whichever comes first.
private final class Once: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Int32, Never>?
        var signalled: Int32?
    }
    private let state = Mutex(State())

    func wait(_ c: CheckedContinuation<Int32, Never>) {
        let signo: Int32? = state.withLock { st in
            if let s = st.signalled { return s }
            st.continuation = c
            return nil
        }
        if let signo { c.resume(returning: signo) }
    }

    func signalled(_ signo: Int32) {
        let c: CheckedContinuation<Int32, Never>? = state.withLock { st in
            if st.signalled != nil { return nil }
            st.signalled = signo
            defer { st.continuation = nil }
            return st.continuation
        }
        c?.resume(returning: signo)
    }
}
