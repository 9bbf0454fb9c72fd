import Foundation

/// Finds one tile's row in a scan's `tiles.csv` without loading the file: the file is read in 64 KiB pieces
/// until the row whose first field (`tile`) is the index (rows are in tile order, so it is found early), and
/// its next two fields — `x`, `y`, the level-0 corner — are checked and returned.
///
/// ```swift
/// let corner = try SlideTileTable.corner(of: 7, in: url)    // (x: 1050, y: 0), or nil past the last tile
/// ```
enum SlideTileTable {
    /// Longest line accepted (a row is a few hundred bytes; a longer one is not a scan's table).
    static let maxLineBytes = 1 << 16

    struct Corner: Equatable {
        let x: Int
        let y: Int
    }

    /// - Returns: nil when the table has no row for `index`.
    /// - Throws: ``Problem`` (500) for a table that is not a scan's.
    static func corner(of index: Int, in url: URL) throws -> Corner? {
        guard index >= 0, let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        let prefix = Array("\(index),".utf8)
        var line: [UInt8] = []
        var isHeader = true
        while let piece = try handle.read(upToCount: 1 << 16), !piece.isEmpty {
            for byte in piece {
                if byte == UInt8(ascii: "\n") {
                    if !isHeader, line.starts(with: prefix) { return try parse(line, index: index) }
                    isHeader = false
                    line.removeAll(keepingCapacity: true)
                } else {
                    line.append(byte)
                    guard line.count <= maxLineBytes else { throw malformed(index) }
                }
            }
        }
        return !isHeader && line.starts(with: prefix) ? try parse(line, index: index) : nil
    }

    private static func parse(_ line: [UInt8], index: Int) throws -> Corner {
        let fields = line.split(separator: UInt8(ascii: ","), maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count >= 3, Int(String(decoding: fields[0], as: UTF8.self)) == index,
              let x = Int(String(decoding: fields[1], as: UTF8.self)), let y = Int(String(decoding: fields[2], as: UTF8.self)),
              x >= 0, y >= 0 else { throw malformed(index) }
        return Corner(x: x, y: y)
    }

    private static func malformed(_ index: Int) -> Problem {
        Problem(.internalServerError, "the scan's tiles.csv has no well-formed row for tile \(index)")
    }
}
