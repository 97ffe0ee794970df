import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts the process's dedicated threads (blocking C calls, never on Swift's cooperative pool) under a
/// name that the OS shows too.
///
/// Guarantees: `body` runs once on a new thread whose Foundation `Thread.name` is `name` and whose OS
/// name (Linux `comm`: `top -H`, `ps -L`, perf) is `name`'s first 15 bytes. Foundation's `Thread.name`
/// alone does not reach the OS on Linux (threads showed their creator's name, e.g. the cooperative
/// pool's "…root.default-qos"). Naming is best effort: a failure leaves the inherited name.
public enum DedicatedThread {
    /// Starts `body` on a new thread named `name`.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            nameCurrentOSThread(name)
            body()
        }
        thread.name = name
        thread.start()
    }

    /// Sets the calling thread's OS name (`/proc/thread-self/comm`; glibc's `pthread_setname_np` is not
    /// visible to Swift).
    static func nameCurrentOSThread(_ name: String) {
        #if os(Linux)
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        #endif
    }
}
