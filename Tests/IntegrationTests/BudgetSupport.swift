import Foundation
import Ledger
import Synchronization
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

// Support for the budget integration tests: spend written straight into a scratch schema's
// domain_hourly (TestSupport's `ScratchSchema`), and a tiny HTTP listener standing in for the webhook.

extension ScratchSchema {
    /// A migrated scratch schema (`b_…`) for a budget test.
    static func migratedForBudgets() async throws -> ScratchSchema { try await migrated(prefix: "b") }

    /// Sets `domain`'s spend in the current hour to `nano` (replacing what was there).
    func setSpend(_ domain: String, nano: Int64) async throws {
        let table = table("domain_hourly")
        try await onThread {
            let connection = try connectToTestDatabase()
            try connection.execute(
                """
                INSERT INTO \(table) (hour, transaction, cost_nusd, span_count, trace_count)
                VALUES (date_trunc('hour', now(), 'UTC'), $1, $2, 1, 1)
                ON CONFLICT (hour, transaction) DO UPDATE SET cost_nusd = EXCLUDED.cost_nusd
                """,
                [.text(domain), .int8(nano)])
        }
    }
}

/// Writes `text` to a new temp file and returns its path.
func budgetTempFile(_ text: String) throws -> String {
    let path = NSTemporaryDirectory() + "budgets-\(UUID().uuidString).yaml"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A one-thread HTTP/1.1 listener on 127.0.0.1 that records each request body and answers 200 (or 500
/// for the first `failFirst` requests), closing every connection.
final class WebhookListener: @unchecked Sendable {  // Safe: `fd` is immutable; requests under a Mutex.
    private let fd: Int32
    let port: UInt16
    private let state: Mutex<(bodies: [String], seen: Int)> = Mutex(([], 0))
    private let failFirst: Int
    private let silent: Bool

    /// - Parameters:
    ///   - failFirst: answer 500 to this many requests first.
    ///   - silent: never answer (hold each connection 3 s, then close it): a webhook that hangs.
    init(failFirst: Int = 0, silent: Bool = false) throws {
        self.failFirst = failFirst
        self.silent = silent
        let (fd, port) = try loopbackSocket()
        self.fd = fd
        self.port = UInt16(port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    /// Bodies of the requests answered 200, in arrival order.
    var bodies: [String] { state.withLock { $0.bodies } }
    /// Requests received, answered 200 or 500.
    var requestsSeen: Int { state.withLock { $0.seen } }

    func close() {
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            handle(client)
            Glibc.close(client)
        }
    }

    private func handle(_ client: Int32) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            received.append(contentsOf: buffer[0..<n])
            if headerEnd == nil, let end = Self.find([13, 10, 13, 10], in: received) {
                headerEnd = end + 4
                let head = String(decoding: received[0..<end], as: UTF8.self).lowercased()
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let headerEnd, received.count >= headerEnd + contentLength {
                let body = String(decoding: received[headerEnd..<(headerEnd + contentLength)], as: UTF8.self)
                if silent {
                    state.withLock { $0.seen += 1 }
                    sleep(3)
                    return
                }
                let fail = state.withLock { state -> Bool in
                    state.seen += 1
                    if state.seen <= failFirst { return true }
                    state.bodies.append(body)
                    return false
                }
                let response = fail
                    ? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                _ = Array(response.utf8).withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                return
            }
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where Array(haystack[i..<(i + needle.count)]) == needle { return i }
        return nil
    }
}
