/// The one error type of the LoadGen module: a code plus a human-readable detail and where it was thrown.
///
/// Bad catalogs, bad configurations and (in principle) arithmetic overflow of the reference pricer throw
/// this; nothing in LoadGen traps on input.
public struct LoadGenError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        /// The price catalog could not be read, parsed or validated.
        public static let catalogInvalid = Code("catalog_invalid")
        /// A `TrafficConfiguration` value is out of range.
        public static let configurationInvalid = Code("configuration_invalid")
        /// An exact intermediate did not fit in 128 bits (inputs far outside anything realistic).
        public static let arithmeticOverflow = Code("arithmetic_overflow")
        /// A manifest could not be encoded or decoded.
        public static let manifestInvalid = Code("manifest_invalid")
        public var description: String { name }
    }

    public var code: Code
    public var detail: String
    public var file: String
    public var line: Int

    public init(_ code: Code, _ detail: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.detail = detail
        self.file = file
        self.line = line
    }

    public var description: String { "\(code): \(detail) (\(file):\(line))" }
}
