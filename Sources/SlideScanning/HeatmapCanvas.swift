import ImageCodecs
import Scoring

/// An RGB drawing surface for `heatmap.png`: rectangles, blended pixels, text in Scoring's ``BitmapFont`` and a
/// ``Colormap/viridis(_:)`` colour bar — the same font and colour map as the patch panels (Scoring's own
/// canvas is internal to it).
///
/// ```swift
/// var canvas = HeatmapCanvas(width: 640, height: 480)
/// canvas.text("cmu-1.svs", x: 16, y: 16, color: HeatmapCanvas.ink)
/// canvas.colorBar(x: 16, y: 400, width: 300, height: 16)
/// let png = try PNGEncoder.encode(canvas.image)
/// ```
struct HeatmapCanvas {
    typealias Color = (r: UInt8, g: UInt8, b: UInt8)
    static let ink: Color = (20, 20, 20)
    static let paper: Color = (255, 255, 255)
    /// Text is drawn at twice the font's 5 × 8 cells: 12 px per character, 16 px per line.
    static let textScale = 2
    static var lineHeight: Int { (BitmapFont.glyphHeight + 2) * textScale }

    let width: Int
    let height: Int
    /// `(height, width, 3)` row-major RGB.
    private(set) var pixels: [UInt8]

    init(width: Int, height: Int, background: Color = HeatmapCanvas.paper) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, background)
    }

    var image: RGBImage { RGBImage(width: width, height: height, pixels: pixels) }

    mutating func set(_ x: Int, _ y: Int, _ c: Color) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = (y * width + x) * 3
        pixels[o] = c.r; pixels[o + 1] = c.g; pixels[o + 2] = c.b
    }

    /// `alpha · c + (1 − alpha) · current`.
    mutating func blend(_ x: Int, _ y: Int, _ c: Color, alpha: Double) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = (y * width + x) * 3
        for (channel, value) in [c.r, c.g, c.b].enumerated() {
            pixels[o + channel] = UInt8((alpha * Double(value) + (1 - alpha) * Double(pixels[o + channel])).rounded())
        }
    }

    /// A rectangle, clipped to the canvas (a rectangle outside it draws nothing).
    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ c: Color) {
        let top = max(0, y), bottom = min(height, y + h), left = max(0, x), right = min(width, x + w)
        guard top < bottom, left < right else { return }
        for yy in top..<bottom {
            for xx in left..<right { set(xx, yy, c) }
        }
    }

    /// `text` at ``textScale``, top-left corner at `(x, y)`, cut to the canvas width.
    mutating func text(_ text: String, x: Int, y: Int, color: Color = HeatmapCanvas.ink) {
        let s = Self.textScale
        for (n, c) in Self.fit(text, width - x).enumerated() {
            let left = x + n * BitmapFont.advance * s
            for row in 0..<BitmapFont.glyphHeight {
                for column in 0..<BitmapFont.glyphWidth where BitmapFont.isInk(c, row: row, column: column) {
                    fill(x: left + column * s, y: y + row * s, width: s, height: s, color)
                }
            }
        }
    }

    /// Width in pixels of `text` at ``textScale``.
    static func textWidth(_ text: String) -> Int { BitmapFont.width(of: text, scale: textScale) }

    /// `text` broken at spaces into lines that fit `pixels` (a word longer than a line is cut by ``fit(_:_:)``).
    static func wrap(_ text: String, _ pixels: Int) -> [String] {
        var lines: [String] = [], current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            let candidate = current.isEmpty ? String(word) : current + " " + word
            if textWidth(candidate) <= pixels || current.isEmpty {
                current = candidate
            } else {
                lines.append(current)
                current = String(word)
            }
        }
        return lines + [current]
    }

    /// `text` shortened with "..." to fit `pixels`.
    static func fit(_ text: String, _ pixels: Int) -> String {
        let most = max(0, (pixels / Self.textScale + 1) / BitmapFont.advance)
        return text.count <= most ? text : String(text.prefix(max(0, most - 3))) + "..."
    }

    /// Viridis from 0 (left) to 1 (right), framed in ink.
    mutating func colorBar(x: Int, y: Int, width w: Int, height h: Int) {
        for xx in 0..<w {
            let c = Colormap.viridis(Double(xx) / Double(max(1, w - 1)))
            fill(x: x + xx, y: y, width: 1, height: h, (c.r, c.g, c.b))
        }
        frame(x: x, y: y, width: w, height: h, Self.ink)
    }

    /// A 1-pixel rectangle outline.
    mutating func frame(x: Int, y: Int, width w: Int, height h: Int, _ c: Color) {
        fill(x: x, y: y, width: w, height: 1, c)
        fill(x: x, y: y + h - 1, width: w, height: 1, c)
        fill(x: x, y: y, width: 1, height: h, c)
        fill(x: x + w - 1, y: y, width: 1, height: h, c)
    }
}
