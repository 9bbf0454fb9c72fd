import Foundation

/// One output file written in pieces under a temporary name (`<name>.partial`) and renamed into place only
/// when complete, so a reader never sees half a table and a failed or cancelled scan leaves no file that looks
/// finished. Writes go through a 64 KiB buffer.
///
/// ```swift
/// let file = try OutputFile(folder.appendingPathComponent("tiles.csv"))
/// try file.write("x,y\n")
/// try file.commit()          // tiles.csv.partial → tiles.csv
/// ```
final class OutputFile {
    let url: URL
    let partialURL: URL
    private let handle: FileHandle
    /// UTF-8 bytes not yet written (flushed at `flushBytes`).
    private var buffer: [UInt8] = []
    private var closed = false
    static let flushBytes = 1 << 16

    init(_ url: URL) throws(SlideScanError) {
        self.url = url
        partialURL = url.appendingPathExtension("partial")
        guard FileManager.default.createFile(atPath: partialURL.path, contents: nil) else {
            throw .output(path: partialURL.path, reason: "cannot create the file (\(String(cString: strerror(errno))))")
        }
        do { handle = try FileHandle(forWritingTo: partialURL) } catch {
            throw .output(path: partialURL.path, reason: error.localizedDescription)
        }
        buffer.reserveCapacity(Self.flushBytes + 4096)
    }

    deinit {
        if !closed { try? handle.close() }
    }

    func write(_ text: String) throws(SlideScanError) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.flushBytes { try flush() }
    }

    func write(bytes: [UInt8]) throws(SlideScanError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushBytes { try flush() }
    }

    private func flush() throws(SlideScanError) {
        guard !buffer.isEmpty else { return }
        do { try handle.write(contentsOf: buffer) } catch {
            throw .output(path: partialURL.path, reason: error.localizedDescription)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, closes and renames the file into place (replacing an older one).
    func commit() throws(SlideScanError) {
        try flush()
        closed = true
        do { try handle.close() } catch { throw .output(path: partialURL.path, reason: error.localizedDescription) }
        guard rename(partialURL.path, url.path) == 0 else {
            throw .output(path: url.path, reason: String(cString: strerror(errno)))
        }
    }

    /// Closes and deletes the temporary file (a failed or cancelled scan).
    func discard() {
        if !closed { try? handle.close() }
        closed = true
        unlink(partialURL.path)
    }
}
