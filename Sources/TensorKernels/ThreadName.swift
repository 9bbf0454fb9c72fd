import Foundation

/// Names the calling thread for the kernel (`top -H`, `/proc/<pid>/task/*/comm`, perf), which Foundation's
/// `Thread.name` does not do on Linux: a thread otherwise shows its creator's name (often a Dispatch queue's),
/// so compute threads could not be told from HTTP threads. Linux keeps at most 15 bytes.
///
/// ```swift
/// Thread { ThreadName.set("hae-worker-0"); work() }.start()
/// ```
public enum ThreadName {
    public static func set(_ name: String) {
        #if os(Linux)
        // Writing /proc/thread-self/comm is prctl(PR_SET_NAME) without a C shim (prctl is variadic).
        guard let file = fopen("/proc/thread-self/comm", "w") else { return }
        defer { fclose(file) }
        _ = fputs(String(name.utf8.prefix(15)) ?? "", file)
        #endif
    }
}
