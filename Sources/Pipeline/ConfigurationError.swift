import Foundation
public import Ledger
import Yams

/// A parse or validation problem in the configuration, naming the key (and env variable) at fault.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var key: String
    public var source: String
    public var reason: String
    public var description: String { "\(source): \(key): \(reason)" }
}
