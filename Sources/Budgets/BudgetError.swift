/// A refused budgets file or a failed budget operation: what kind, where (file and 1-based line; 0 when
/// not tied to a line), the key at fault when there is one, and why.
///
/// `description` is `FILE:LINE: key: reason` (the form `traceledger budget check` prints).
public struct BudgetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem it is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }

        /// The file could not be read.
        public static let unreadable = Code("unreadable")
        /// Not YAML (syntax).
        public static let yamlSyntax = Code("yamlSyntax")
        /// Valid YAML of the wrong shape: a missing, unknown, duplicate or mistyped key.
        public static let invalidStructure = Code("invalidStructure")
        /// A `usd_per_24h` or `warn_at` that is not an exact decimal within bounds.
        public static let invalidAmount = Code("invalidAmount")
        /// A `webhook` that is not an http(s) URL.
        public static let invalidWebhook = Code("invalidWebhook")
        /// Two budgets for the same domain.
        public static let duplicateDomain = Code("duplicateDomain")
        /// The database schema name is not a valid identifier.
        public static let invalidSchema = Code("invalidSchema")
    }

    public var code: Code
    /// The budgets file's path (or the name it was given).
    public var file: String
    /// 1-based; 0 when the problem is not tied to a line.
    public var line: Int
    /// The key at fault (`budgets[2].usd_per_24h`), when there is one.
    public var key: String?
    public var reason: String

    public init(code: Code, file: String, line: Int, key: String? = nil, reason: String) {
        self.code = code
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
    }

    public var description: String {
        "\(file):\(line): " + (key.map { "\($0): " } ?? "") + reason
    }
}
