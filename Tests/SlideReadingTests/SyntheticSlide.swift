import Foundation

/// A small pyramidal tiled TIFF written by the test itself (OpenSlide reads it as "generic-tiff"): level 0 is
/// 512 × 384 pixels at 0.25 µm/px (the XResolution tag), levels 1 and 2 halve it. Level 0 is 16 × 12 blocks of
/// 32 × 32 pixels: the 4 leftmost columns of blocks are glass (245, 245, 245), every other block is coloured
/// by its position — (40 + 10·column, 40 + 15·row, 160) — so any pixel read tells which level-0 block it came
/// from. Each reduced level shows the same blocks (a level-L pixel (x, y) is level-0 block (x·2^L/32, y·2^L/32)).
enum SyntheticSlide {
    static let width = 512, height = 384, block = 32, glassColumns = 4, tile = 64
    static let micronsPerPixel = 0.25

    static func color(column: Int, row: Int) -> [UInt8] {
        column < glassColumns ? [245, 245, 245] : [UInt8(40 + 10 * column), UInt8(40 + 15 * row), 160]
    }

    /// Writes the slide to `folder/synthetic.tiff` and returns its path.
    static func write(in folder: URL) throws -> String {
        let levels = (0..<3).map { level -> TiledTIFFWriter.Level in
            let scale = 1 << level
            let w = width / scale, h = height / scale
            var pixels = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0..<h {
                for x in 0..<w {
                    let rgb = color(column: x * scale / block, row: y * scale / block)
                    pixels.replaceSubrange((y * w + x) * 3..<(y * w + x) * 3 + 3, with: rgb)
                }
            }
            return TiledTIFFWriter.Level(width: w, height: h, rgb: pixels,
                                         pixelsPerCentimetre: 10_000 / (micronsPerPixel * Double(scale)))
        }
        let url = folder.appendingPathComponent("synthetic.tiff")
        try Data(TiledTIFFWriter.encode(levels, tile: tile)).write(to: url)
        return url.path
    }
}
