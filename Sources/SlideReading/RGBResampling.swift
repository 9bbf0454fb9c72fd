import ImageCodecs

/// Resizes a tile read at a level that does not match the model's µm/px to the patch size. Shrinking (the
/// level is finer than the model) averages areas: each output pixel is the mean of the source area it covers,
/// fractional edge pixels weighted by their overlap, so no source pixel is skipped and there is no aliasing.
/// Enlarging (the level is coarser) interpolates bilinearly between pixel centres (half-pixel convention, as
/// PIL's and OpenCV's `resize`), edges clamped. Each axis is chosen on its own; rounding is to nearest.
///
/// ```swift
/// let patch = RGBResampling.resize(tile, width: 150, height: 150)   // e.g. a 180 × 180 read at 0.416 µm/px
/// ```
public enum RGBResampling {
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0 && image.width > 0 && image.height > 0, "resize needs non-empty sizes")
        if width == image.width && height == image.height { return image }
        let columns = taps(from: image.width, to: width)
        let rows = taps(from: image.height, to: height)
        // Horizontal pass into floats (source rows × output columns × 3), then vertical to bytes.
        var horizontal = [Float](repeating: 0, count: image.height * width * 3)
        image.pixels.withUnsafeBufferPointer { source in
            for y in 0..<image.height {
                let sourceRow = y * image.width * 3, outputRow = y * width * 3
                for x in 0..<width {
                    var r: Float = 0, g: Float = 0, b: Float = 0
                    for tap in columns[x] {
                        let at = sourceRow + tap.index * 3
                        r += tap.weight * Float(source[at])
                        g += tap.weight * Float(source[at + 1])
                        b += tap.weight * Float(source[at + 2])
                    }
                    horizontal[outputRow + x * 3] = r
                    horizontal[outputRow + x * 3 + 1] = g
                    horizontal[outputRow + x * 3 + 2] = b
                }
            }
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for value in 0..<(width * 3) {
                var sum: Float = 0
                for tap in rows[y] { sum += tap.weight * horizontal[tap.index * width * 3 + value] }
                pixels[y * width * 3 + value] = UInt8(min(255, max(0, sum.rounded())))
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    struct Tap {
        let index: Int
        let weight: Float
    }

    /// For each output position along one axis, the source positions it reads and their weights (summing to 1).
    static func taps(from source: Int, to output: Int) -> [[Tap]] {
        let scale = Double(source) / Double(output)   // source pixels per output pixel
        return (0..<output).map { i in
            if scale > 1 {
                // Area average over [i·scale, (i+1)·scale).
                let start = Double(i) * scale, end = min(Double(source), start + scale)
                var taps: [Tap] = []
                var position = Int(start)
                while Double(position) < end && position < source {
                    let overlap = min(end, Double(position + 1)) - max(start, Double(position))
                    if overlap > 0 { taps.append(Tap(index: position, weight: Float(overlap / (end - start)))) }
                    position += 1
                }
                return taps
            }
            // Bilinear between the two nearest source centres.
            let centre = min(Double(source - 1), max(0, (Double(i) + 0.5) * scale - 0.5))
            let left = Int(centre), right = min(source - 1, left + 1)
            let fraction = Float(centre - Double(left))
            return right == left || fraction == 0 ? [Tap(index: left, weight: 1)]
                : [Tap(index: left, weight: 1 - fraction), Tap(index: right, weight: fraction)]
        }
    }
}
