/// Why a record's body could not be decoded. A plain value (no heap storage), thrown with typed
/// throws, so the error path of the hot loop does not allocate either.
///
/// `offset` is the byte offset in the record where the problem was found. `code.rejectReason` is the
/// `rejected_records.reason` (docs/ledger.md): `bad_ids` for a bad trace/span id, else `undecodable`.
public struct SpanDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. Compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        @usableFromInline let raw: UInt8
        @usableFromInline init(_ raw: UInt8) { self.raw = raw }

        /// A length, varint or fixed-size value runs past the end of its message.
        public static let truncated = Code(1)
        /// A varint longer than 10 bytes.
        public static let malformedVarint = Code(2)
        /// Wire type 6 or 7, or an end-group marker without its start group.
        public static let badWireType = Code(3)
        /// Field number 0 or above 2^29 − 1.
        public static let badFieldNumber = Code(4)
        /// A span's trace id is not exactly 16 bytes (or is all zeros), its span id not exactly 8 bytes
        /// (or all zeros), or its parent span id neither empty nor 8 bytes. The whole record is bad.
        public static let badIDs = Code(5)
        /// Nesting (groups, JSON arrays/objects) deeper than `OTLPProtobufReader.depthMax`.
        public static let tooDeep = Code(6)
        /// OTLP/JSON that is not well-formed JSON.
        public static let badJSON = Code(7)
        /// OTLP/JSON that is well-formed but has a wrong type where OTLP fixes one (e.g. a number where
        /// a list is expected, a non-numeric `startTimeUnixNano`).
        public static let badJSONValue = Code(8)

        public var description: String {
            switch raw {
            case 1: "truncated"
            case 2: "malformed_varint"
            case 3: "bad_wire_type"
            case 4: "bad_field_number"
            case 5: "bad_ids"
            case 6: "too_deep"
            case 7: "bad_json"
            case 8: "bad_json_value"
            default: "unknown"
            }
        }

        /// The `rejected_records.reason` for a record that fails with this code.
        public var rejectReason: StaticString { self == .badIDs ? "bad_ids" : "undecodable" }
    }

    public let code: Code
    /// Byte offset in the record at which the problem was detected.
    public let offset: Int

    @inlinable
    public init(_ code: Code, at offset: Int) {
        self.code = code
        self.offset = offset
    }

    public var description: String { "\(code) at byte \(offset)" }
}
