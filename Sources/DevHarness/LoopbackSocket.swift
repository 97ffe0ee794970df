import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// TCP sockets on 127.0.0.1 at a port the kernel chooses: for a throwaway server's port
/// (``ThrowawayPostgres``) and, through TestSupport, for the tests' listeners.
/// Guarantees: on success the caller owns the descriptor; on failure nothing is left open.
public enum LoopbackSocket {
    /// What failed, naming the system call.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A socket bound to 127.0.0.1 at a free port, listening (`backlog`) unless nil. The caller closes
    /// `descriptor`.
    public static func open(listening backlog: Int32? = 16) throws -> (descriptor: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            close(fd)
            throw Failure(description: "bind() failed")
        }
        if let backlog, listen(fd, backlog) != 0 {
            close(fd)
            throw Failure(description: "listen() failed")
        }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            close(fd)
            throw Failure(description: "getsockname() failed")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
    public static func freePort() throws -> Int {
        let (fd, port) = try open(listening: nil)
        close(fd)
        return port
    }
}
