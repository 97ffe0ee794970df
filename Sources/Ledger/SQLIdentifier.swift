/// A validated schema name: 1...63 bytes of `a-z`, `0-9`, `_`, not starting with a digit, and not a
/// `pg_` name.
///
/// Guarantees: ``quoted`` is safe to splice into SQL text (only these characters, double-quoted); any other
/// string is refused by the initializer with `LedgerError.invalidIdentifier`.
public struct SchemaName: Hashable, Sendable, CustomStringConvertible {
    public let name: String

    public static let `default` = SchemaName(trusted: "traceledger")

    public init(_ name: String) throws {
        let bytes = Array(name.utf8)
        let valid = !bytes.isEmpty && bytes.count <= 63
            && !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[0])
            && bytes.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
            }
            && !name.hasPrefix("pg_")
        guard valid else {
            throw LedgerError(
                .invalidIdentifier,
                message: "schema name must be 1-63 characters of a-z, 0-9, _ (not starting with a digit or pg_): \(name.debugDescription)")
        }
        self.name = name
    }

    private init(trusted: String) { name = trusted }

    /// `"traceledger"`.
    public var quoted: String { "\"\(name)\"" }

    public var description: String { name }

    /// `"schema"."relation"` for a relation name that is a compile-time constant or built from a `Month`.
    func qualified(_ relation: String) -> String { "\(quoted).\"\(relation)\"" }

    /// The text of a string literal holding the schema name (for catalog queries).
    var literal: String { "'\(name)'" }
}
