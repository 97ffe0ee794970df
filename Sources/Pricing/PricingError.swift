/// A refused price catalog (docs/pricing.md): the file, the line (and column where known) and why.
///
/// `description` is `FILE:LINE: reason` (column appended to the reason when known), the form
/// `traceledger pricing check` prints.
public struct PricingCatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem it is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }

        /// Not YAML (syntax), or several documents.
        public static let yamlSyntax = Code("yamlSyntax")
        /// Valid YAML of the wrong shape: a missing, unknown, duplicate or mistyped key.
        public static let invalidStructure = Code("invalidStructure")
        /// A price that is not a non-negative decimal string within bounds.
        public static let invalidPrice = Code("invalidPrice")
        /// A `from:` that is not an RFC 3339 instant.
        public static let invalidDate = Code("invalidDate")
        /// Two entries for the same key and the same `from`.
        public static let duplicateEntry = Code("duplicateEntry")
        /// The file could not be read.
        public static let unreadable = Code("unreadable")
    }

    public var code: Code
    /// The catalog's path (or the name it was given).
    public var file: String
    /// 1-based; 0 when the problem is not tied to a line (an unreadable file).
    public var line: Int
    /// 1-based, in Unicode scalars, when known.
    public var column: Int?
    public var reason: String

    public init(code: Code, file: String, line: Int, column: Int? = nil, reason: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String {
        let where_ = column.map { " (column \($0))" } ?? ""
        return "\(file):\(line): \(reason)\(where_)"
    }
}
