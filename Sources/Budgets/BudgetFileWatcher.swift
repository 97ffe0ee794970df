import Foundation

/// Polls the budgets file by content hash: a poll reports a change only when the bytes differ from the
/// last ones it saw, and a failure only once per distinct failure (a bad file is not reported again
/// every poll).
///
/// Guarantees: a value type, used by one task; ``poll()`` reads the file once (a small read), parses only
/// changed content, and never throws.
struct BudgetFileWatcher {
    enum Event: Equatable {
        case unchanged
        /// New valid content: the budgets to use from now on.
        case loaded(BudgetFile)
        /// Unreadable or invalid content: keep the last good budgets.
        case failed(BudgetError)
    }

    let path: String
    private var lastHash: Int?
    private var lastFailure: BudgetError?

    init(path: String) {
        self.path = path
    }

    mutating func poll() -> Event {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let failure = BudgetError(
                code: .unreadable, file: path, line: 0, key: "budgets.file",
                reason: "cannot read the budgets file (set budgets.file or TRACELEDGER_BUDGETS_FILE): \(error.localizedDescription)")
            lastHash = nil
            return report(failure)
        }
        var hasher = Hasher()
        hasher.combine(data)
        let hash = hasher.finalize()
        if hash == lastHash { return .unchanged }
        lastHash = hash
        do {
            let file = try BudgetFile.parse(String(decoding: data, as: UTF8.self), file: path)
            lastFailure = nil
            return .loaded(file)
        } catch {
            return report(error)
        }
    }

    private mutating func report(_ failure: BudgetError) -> Event {
        if failure == lastFailure { return .unchanged }
        lastFailure = failure
        return .failed(failure)
    }
}
