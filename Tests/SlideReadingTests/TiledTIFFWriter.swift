/// A minimal writer of little-endian, uncompressed, tiled RGB TIFFs with one directory per pyramid level — what
/// OpenSlide's generic-tiff reader needs — so the tests build slides of known content without Python or
/// libtiff's tools.
enum TiledTIFFWriter {
    struct Level {
        let width: Int
        let height: Int
        /// Row-major interleaved RGB.
        let rgb: [UInt8]
        /// XResolution = YResolution, with ResolutionUnit = centimetre.
        let pixelsPerCentimetre: Double
    }

    static func encode(_ levels: [Level], tile: Int) -> [UInt8] {
        var out: [UInt8] = [0x49, 0x49, 42, 0]   // "II", 42
        let firstIFDPointer = out.count
        out += le32(0)
        var previousNextPointer = firstIFDPointer
        for (index, level) in levels.enumerated() {
            let across = (level.width + tile - 1) / tile, down = (level.height + tile - 1) / tile
            var offsets: [Int] = [], counts: [Int] = []
            for ty in 0..<down {
                for tx in 0..<across {
                    offsets.append(out.count)
                    counts.append(tile * tile * 3)
                    for y in 0..<tile {
                        for x in 0..<tile {
                            let sx = tx * tile + x, sy = ty * tile + y
                            if sx < level.width && sy < level.height {
                                let at = (sy * level.width + sx) * 3
                                out += level.rgb[at..<at + 3]
                            } else {
                                out += [0, 0, 0]   // padding of the edge tiles
                            }
                        }
                    }
                }
            }
            // Out-of-line values: BitsPerSample, the two resolutions, the tile tables.
            let bitsAt = out.count
            out += le16(8) + le16(8) + le16(8)
            let resolutionAt = out.count
            out += le32(Int(level.pixelsPerCentimetre.rounded())) + le32(1)
            let offsetsAt = out.count
            for offset in offsets { out += le32(offset) }
            let countsAt = out.count
            for count in counts { out += le32(count) }
            if out.count % 2 == 1 { out.append(0) }

            let tiles = offsets.count
            // (tag, type, count, value or offset); types: 3 SHORT, 4 LONG, 5 RATIONAL. Tags ascending.
            var entries: [(Int, Int, Int, Int)] = [
                (254, 4, 1, index == 0 ? 0 : 1),            // NewSubfileType: reduced-resolution copy
                (256, 4, 1, level.width), (257, 4, 1, level.height),
                (258, 3, 3, bitsAt), (259, 3, 1, 1), (262, 3, 1, 2), (277, 3, 1, 3),
                (282, 5, 1, resolutionAt), (283, 5, 1, resolutionAt), (284, 3, 1, 1), (296, 3, 1, 3),
                (322, 4, 1, tile), (323, 4, 1, tile),
            ]
            entries.append((324, 4, tiles, tiles == 1 ? offsets[0] : offsetsAt))
            entries.append((325, 4, tiles, tiles == 1 ? counts[0] : countsAt))
            let ifdAt = out.count
            patch32(&out, at: previousNextPointer, ifdAt)
            out += le16(entries.count)
            for (tag, type, count, value) in entries {
                out += le16(tag) + le16(type) + le32(count)
                out += type == 3 && count == 1 ? le16(value) + le16(0) : le32(value)
            }
            previousNextPointer = out.count
            out += le32(0)
        }
        return out
    }

    static func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
    static func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) } }
    static func patch32(_ bytes: inout [UInt8], at offset: Int, _ value: Int) {
        bytes.replaceSubrange(offset..<offset + 4, with: le32(value))
    }
}
