import Foundation
import ImageCodecs
import Scoring
import SlideReading

/// `heatmap.png`: the slide's picture with each scanned tissue tile tinted by its score, readable at a glance —
/// the tissue outline (the mask the grid was laid on) in black, anomalous tiles outlined in red, a titled
/// colour bar with labelled ticks and the threshold marked, and the model, method and scan level in a legend.
///
/// The colour is the score on a **log scale of its false-positive rate**: position `−log10(1 − score) / 4`,
/// so 0 → 0, 0.9 → ¼, 0.99 → ½ (the default threshold), 0.999 → ¾, ≥ 0.9999 → 1 (``position(ofScore:)``).
/// Normal tissue's scores are spread evenly over [0, 1] (a score is a calibrated rank), which a linear bar would
/// paint as noise; on this scale nine in ten normal tiles stay in the dark quarter and anomalies glow.
/// `not_tissue` tiles are left untinted (their score says nothing about tissue). Overlapping tiles
/// (`--stride` below the patch size) show the highest score covering a pixel.
///
/// Memory: the picture (longest side ``ScanSettings/heatmapMaxSide``) and one float and one byte per picture
/// pixel, whatever the number of tiles; tiles are painted as their results arrive.
///
/// ```swift
/// let heatmap = try ScanHeatmap(plan: plan, maxSide: 1024)
/// heatmap.add(scannedTile)
/// let png = try heatmap.png(title: "cmu-1.svs: 220 tiles", legend: ["model histoae 1.2.0"], threshold: 0.99)
/// ```
final class ScanHeatmap {
    static let fileName = "heatmap.png"
    /// Decades of false-positive rate the colour bar spans: 1 … 1e-4.
    static let decades = 4.0
    /// Opacity of the score tint over the slide.
    static let alpha = 0.6
    /// Pictures smaller than this (in their longer side) are enlarged by a whole factor for legibility.
    static let minimumSide = 512

    /// The slide at the heatmap's scale.
    let picture: RGBImage
    let mask: TissueMask
    /// Level-0 pixels per picture pixel, across and down.
    let scaleX: Double, scaleY: Double
    /// `(picture.height, picture.width)`: the highest colour position of a tissue tile covering the pixel; −1
    /// where none does.
    private var positions: [Float]
    /// `(picture.height, picture.width)`: 1 where an anomalous tile covers the pixel.
    private var anomalous: [UInt8]

    init(plan: SlideScanPlan, maxSide: Int) throws(SlideScanError) {
        let level0 = plan.slide.level0, mpp = plan.scan.slideMPP
        let micronsPerPixel = max(mpp, Double(max(level0.width, level0.height)) * mpp / Double(maxSide))
        do { picture = try SlideThumbnail.read(plan.slide, slideMPP: mpp, micronsPerPixel: micronsPerPixel) } catch {
            throw .slide(error)
        }
        mask = plan.mask
        scaleX = Double(level0.width) / Double(picture.width)
        scaleY = Double(level0.height) / Double(picture.height)
        positions = [Float](repeating: -1, count: picture.width * picture.height)
        anomalous = [UInt8](repeating: 0, count: picture.width * picture.height)
    }

    /// Colour-bar position of a score, in [0, 1].
    static func position(ofScore score: Double) -> Double {
        guard score.isFinite else { return score > 0 ? 1 : 0 }
        let rate = max(1 - min(1, max(0, score)), pow(10, -decades))
        return min(1, -log10(rate) / decades)
    }

    /// Paints one tile (a tissue verdict only).
    func add(_ scanned: ScannedTile) {
        guard scanned.score.verdict != .notTissue else { return }
        let position = Float(Self.position(ofScore: scanned.score.score))
        let flagged: UInt8 = scanned.score.verdict == .anomalous ? 1 : 0
        let columns = span(scanned.x, scanned.side, scaleX, picture.width)
        let rows = span(scanned.y, scanned.side, scaleY, picture.height)
        for row in rows {
            for column in columns {
                let at = row * picture.width + column
                positions[at] = max(positions[at], position)
                anomalous[at] |= flagged
            }
        }
    }

    /// Picture pixels whose centres fall in a level-0 span (at least the one under its middle).
    private func span(_ origin: Int, _ length: Int, _ scale: Double, _ limit: Int) -> Range<Int> {
        let first = Int((Double(origin) / scale - 0.5).rounded(.up))
        let end = Int((Double(origin + length) / scale - 0.5).rounded(.up))
        if end <= first {
            let middle = min(limit - 1, max(0, Int((Double(origin) + Double(length) / 2) / scale)))
            return middle..<middle + 1
        }
        return min(limit, max(0, first))..<min(limit, max(0, end))
    }

    /// The finished picture as PNG: `title` on top, then the slide, then the colour bar and the `legend` lines
    /// (each wrapped to the width).
    func png(title: String, legend: [String], threshold: Double) throws(SlideScanError) -> [UInt8] {
        let factor = max(1, Self.minimumSide / max(picture.width, picture.height))
        let margin = 16, line = HeatmapCanvas.lineHeight, barHeight = 16
        let shownWidth = picture.width * factor, shownHeight = picture.height * factor
        let width = max(shownWidth + 2 * margin, 640), textWidth = width - 2 * margin
        let titleLines = HeatmapCanvas.wrap(title, textWidth)
        let legendLines = legend.flatMap { HeatmapCanvas.wrap($0, textWidth) }
        let slideTop = margin + line * titleLines.count + margin / 2
        // Below the slide: the caption, the threshold's label, the bar, its tick labels, the legend.
        let captionTop = slideTop + shownHeight + margin
        let barTop = captionTop + 2 * line, ticksTop = barTop + barHeight + 6
        let height = ticksTop + line + margin / 2 + line * legendLines.count + margin
        var canvas = HeatmapCanvas(width: width, height: height)
        for (n, text) in titleLines.enumerated() { canvas.text(text, x: margin, y: margin + n * line) }
        let left = (width - shownWidth) / 2
        drawSlide(on: &canvas, left: left, top: slideTop, factor: factor)
        canvas.frame(x: left - 1, y: slideTop - 1, width: shownWidth + 2, height: shownHeight + 2, (190, 190, 190))

        // Colour bar: ticks at each decade of false-positive rate, the threshold marked across it.
        let barWidth = min(textWidth - 48, 480), barLeft = margin
        canvas.text("tile score (1 - false-positive rate), log scale", x: barLeft, y: captionTop)
        canvas.colorBar(x: barLeft, y: barTop, width: barWidth, height: barHeight)
        for decade in 0...Int(Self.decades) {
            let x = barLeft + Int(Double(decade) / Self.decades * Double(barWidth - 1))
            let label = decade == 0 ? "0" : "0." + String(repeating: "9", count: decade)
            canvas.fill(x: x, y: barTop + barHeight, width: 1, height: 5, HeatmapCanvas.ink)
            let labelWidth = HeatmapCanvas.textWidth(label)
            canvas.text(label, x: min(max(barLeft, x - labelWidth / 2), width - labelWidth - 2), y: ticksTop)
        }
        let red: HeatmapCanvas.Color = (230, 0, 0)
        let marker = barLeft + Int(Self.position(ofScore: threshold) * Double(barWidth - 1))
        canvas.fill(x: marker - 1, y: barTop - 6, width: 3, height: barHeight + 6, red)
        let label = "threshold \(String(format: "%g", threshold))"
        canvas.text(label, x: min(max(barLeft, marker - HeatmapCanvas.textWidth(label) / 2),
                                  width - HeatmapCanvas.textWidth(label) - 2), y: barTop - line, color: red)
        for (n, text) in legendLines.enumerated() {
            canvas.text(text, x: margin, y: ticksTop + line + margin / 2 + n * line)
        }
        do { return try PNGEncoder.encode(canvas.image) } catch {
            throw .output(path: Self.fileName, reason: "cannot encode the PNG: \(error)")
        }
    }

    /// The picture, enlarged `factor` times, tinted where tissue tiles were scored, with the outlines.
    private func drawSlide(on canvas: inout HeatmapCanvas, left: Int, top: Int, factor: Int) {
        let w = picture.width, h = picture.height
        let tissueEdge = edges(w, h) { column, row in
            let maskColumn = min(self.mask.width - 1, Int(Double(column) * self.scaleX / self.mask.level0PixelsPerPixel))
            let maskRow = min(self.mask.height - 1, Int(Double(row) * self.scaleY / self.mask.level0PixelsPerPixel))
            return self.mask.pixels[maskRow * self.mask.width + maskColumn] != 0
        }
        let anomalousEdge = edges(w, h, thickness: 2) { column, row in self.anomalous[row * w + column] != 0 }
        for row in 0..<h {
            for column in 0..<w {
                let at = row * w + column
                var color: HeatmapCanvas.Color = (picture.pixels[at * 3], picture.pixels[at * 3 + 1], picture.pixels[at * 3 + 2])
                if positions[at] >= 0 {
                    let tint = Colormap.viridis(Double(positions[at]))
                    let mix = { (base: UInt8, over: UInt8) in
                        UInt8((Self.alpha * Double(over) + (1 - Self.alpha) * Double(base)).rounded())
                    }
                    color = (mix(color.r, tint.r), mix(color.g, tint.g), mix(color.b, tint.b))
                }
                if tissueEdge[at] { color = HeatmapCanvas.ink }
                if anomalousEdge[at] { color = (230, 0, 0) }
                canvas.fill(x: left + column * factor, y: top + row * factor, width: factor, height: factor, color)
            }
        }
    }

    /// Pixels inside a region (`inside`) within `thickness` pixels (Chebyshev) of a pixel outside it or of the
    /// picture's border: `(h, w)` row-major.
    private func edges(_ w: Int, _ h: Int, thickness: Int = 1, inside: (Int, Int) -> Bool) -> [Bool] {
        var region = [Bool](repeating: false, count: w * h)
        for row in 0..<h { for column in 0..<w { region[row * w + column] = inside(column, row) } }
        var edge = [Bool](repeating: false, count: w * h)
        for row in 0..<h {
            for column in 0..<w where region[row * w + column] {
                search: for dy in -thickness...thickness {
                    for dx in -thickness...thickness {
                        let y = row + dy, x = column + dx
                        if y < 0 || x < 0 || y >= h || x >= w || !region[y * w + x] {
                            edge[row * w + column] = true
                            break search
                        }
                    }
                }
            }
        }
        return edge
    }
}
