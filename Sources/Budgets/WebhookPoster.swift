import DurationUnits
public import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking  // URLSession on Linux: libcurl at run time (libcurl4 in the image).
#endif
public import Logging

/// Sends one ``WebhookNotice`` as an HTTP POST (`Content-Type: application/json`) to a fixed URL, with a
/// timeout per attempt and a bounded number of retries with exponential backoff.
///
/// Guarantees: at most `1 + retries` attempts per notice, each bounded by `timeout`, each wait between
/// them bounded by 8 s; a 2xx answer is success; 408, 429, 5xx and transport errors are retried, any
/// other status is a final failure. It never throws and never blocks a thread (URLSession's own I/O).
/// Cancellation stops the retries.
public struct WebhookPoster: Sendable {
    public var url: URL
    public var timeout: Duration
    public var retries: Int
    /// The first wait before a retry; doubled per retry, at most 8 s.
    public var backoff: Duration

    public init(url: URL, timeout: Duration = .seconds(5), retries: Int = 3, backoff: Duration = .milliseconds(500)) {
        self.url = url
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
    }

    /// Posts `notice`; true when a 2xx answer came back within the attempts.
    public func deliver(_ notice: WebhookNotice, logger: Logger) async -> Bool {
        let seconds = timeout.inSeconds
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = seconds
        configuration.timeoutIntervalForResource = seconds
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: seconds)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = notice.json
        var wait = backoff
        for attempt in 1...(retries + 1) {
            if Task.isCancelled { return false }
            let outcome = await Self.post(request, session: session)
            switch outcome {
            case .success(let status) where (200..<300).contains(status):
                return true
            case .success(let status) where !(status == 408 || status == 429 || status >= 500):
                logger.error(
                    "budget webhook refused the notice",
                    metadata: ["domain": "\(notice.domain)", "level": "\(notice.level.rawValue)", "status": "\(status)"])
                return false
            case .success(let status):
                logger.warning(
                    "budget webhook answered an error; retrying",
                    metadata: ["status": "\(status)", "attempt": "\(attempt)", "domain": "\(notice.domain)"])
            case .failure(let error):
                logger.warning(
                    "budget webhook unreachable; retrying",
                    metadata: ["error": "\(error.localizedDescription)", "attempt": "\(attempt)", "domain": "\(notice.domain)"])
            }
            if attempt <= retries {
                do { try await Task.sleep(for: wait) } catch { return false }
                wait = min(wait * 2, .seconds(8))
            }
        }
        logger.error(
            "budget webhook failed after retries; notice dropped",
            metadata: ["domain": "\(notice.domain)", "level": "\(notice.level.rawValue)", "attempts": "\(retries + 1)"])
        return false
    }

    private static func post(_ request: URLRequest, session: URLSession) async -> Result<Int, any Error> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<Int, any Error>, Never>) in
            let task = session.dataTask(with: request) { _, response, error in
                if let error {
                    continuation.resume(returning: .failure(error))
                } else if let http = response as? HTTPURLResponse {
                    continuation.resume(returning: .success(http.statusCode))
                } else {
                    continuation.resume(returning: .failure(URLError(.badServerResponse)))
                }
            }
            task.resume()
        }
    }
}
