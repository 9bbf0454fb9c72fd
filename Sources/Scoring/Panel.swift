import Foundation
import ImageCodecs

/// A one-glance picture of a scored patch: **input | reconstruction | squared-error map | 1 − SSIM map |
/// stain residual map**, each 150 × 150 drawn at ×2 (nearest neighbour), a title line with the verdict
/// (`normal`, `ANOMALOUS`, `NOT TISSUE`), score, threshold and flags, a label above each tile,
/// the key statistics under the two images, and a viridis colour bar with its fixed scale under each map
/// (see ``ErrorMapKind``). Text uses the built-in ``BitmapFont`` at ×2.
///
/// ```swift
/// let result = try scorer.score(input: x, reconstruction: xHat, image: rgb, workspace: workspace)
/// let picture = Panel.render(name: "patch0", input: rgb, reconstruction: rgbHat, workspace: workspace, score: result)
/// try Data(PNGEncoder.encode(picture)).write(to: url)     // 1572 × 412 for 150 × 150 patches
/// ```
public enum Panel {
    public static let tileScale = 2
    public static let textScale = 2
    static let margin = 12, gap = 12, lineHeight = BitmapFont.glyphHeight * textScale, barHeight = 12
    static let ink: (UInt8, UInt8, UInt8) = (28, 28, 32)
    static let alert: (UInt8, UInt8, UInt8) = (190, 20, 30)
    static let paper: UInt8 = 255
    /// The heatmaps, left to right after the input and the reconstruction.
    static let mapKinds: [ErrorMapKind] = [.squaredError, .dissimilarity, .stain]
    static var tileCount: Int { 2 + mapKinds.count }

    /// Panel size for patches of `width × height`.
    public static func size(width: Int, height: Int) -> (width: Int, height: Int) {
        let tileW = width * tileScale, tileH = height * tileScale
        return (2 * margin + tileCount * tileW + (tileCount - 1) * gap,
                margin + lineHeight + 10 + lineHeight + 6 + tileH + 8 + barHeight + 4 + lineHeight + margin)
    }

    /// The panel for a scored patch: the title carries `name`, the verdict, score, threshold, flags and method
    /// (red unless the verdict is normal).
    public static func render(name: String, input: RGBImage, reconstruction: RGBImage, workspace: ScoringWorkspace,
                              score: PatchScore) -> RGBImage {
        render(name: name, input: input, reconstruction: reconstruction, maps: ErrorMapSet(workspace), score: score)
    }

    /// The same for detached maps.
    public static func render(name: String, input: RGBImage, reconstruction: RGBImage, maps: ErrorMapSet,
                              score: PatchScore) -> RGBImage {
        let s = score.statistics
        return render(title: title(name: name, score: score), alert: score.verdict != .normal, input: input,
                      reconstruction: reconstruction, maps: maps,
                      inputNote: "tissue \(fixed(s.tissueFraction, 2)) sharp \(short(s.sharpness))",
                      reconstructionNote: "MSE \(short(s.mse))  SSIM \(fixed(s.ssim, 3))")
    }

    /// `name | VERDICT | score s (threshold t) | flags | method`.
    static func title(name: String, score: PatchScore) -> String {
        let verdict = switch score.verdict {
        case .normal: "normal"
        case .anomalous: "ANOMALOUS"
        case .notTissue: "NOT TISSUE"
        }
        let flags = score.flags.isEmpty ? "" : " | " + score.flags.map(\.rawValue).joined(separator: " ")
        return "\(name) | \(verdict) | score \(fixed(score.score, 3)) (threshold \(tick(score.threshold)))"
            + "\(flags) | \(score.method.rawValue)"
    }

    /// The panel with free text: `title` on top (red when `alert`), the notes under the input and the
    /// reconstruction. Text is ASCII; longer lines are cut to fit.
    public static func render(title: String, alert: Bool = false, input: RGBImage, reconstruction: RGBImage,
                              workspace: ScoringWorkspace, inputNote: String = "", reconstructionNote: String = "") -> RGBImage {
        render(title: title, alert: alert, input: input, reconstruction: reconstruction, maps: ErrorMapSet(workspace),
               inputNote: inputNote, reconstructionNote: reconstructionNote)
    }

    /// The same for detached maps.
    public static func render(title: String, alert: Bool = false, input: RGBImage, reconstruction: RGBImage,
                              maps: ErrorMapSet, inputNote: String = "", reconstructionNote: String = "") -> RGBImage {
        let w = maps.width, h = maps.height
        precondition(input.width == w && input.height == h && reconstruction.width == w && reconstruction.height == h,
                     "Panel: images must match the workspace's \(w)×\(h)")
        let size = size(width: w, height: h), tileW = w * tileScale, tileH = h * tileScale
        var canvas = Canvas(width: size.width, height: size.height, background: paper)
        let titleY = margin, labelY = titleY + lineHeight + 10, tileY = labelY + lineHeight + 6
        let belowY = tileY + tileH + 8
        canvas.text(fit(title, size.width - 2 * margin), x: margin, y: titleY, color: alert ? Self.alert : ink)
        let tiles: [(String, RGBImage, ErrorMapKind?)] = [("input", input, nil), ("reconstruction", reconstruction, nil)]
            + mapKinds.map { kind in
                (kind.label + (kind.isSquareRootScale ? " (sqrt)" : ""), Heatmap.render(kind, maps: maps), kind)
            }
        for (index, (label, image, kind)) in tiles.enumerated() {
            let x = margin + index * (tileW + gap)
            canvas.text(fit(label, tileW), x: x, y: labelY, color: ink)
            canvas.draw(image, x: x, y: tileY, scale: tileScale)
            if let kind {
                canvas.colorBar(x: x, y: belowY, width: tileW, height: barHeight)
                let lo = tick(kind.value(atPosition: 0)), mid = tick(kind.value(atPosition: 0.5))
                let hi = tick(kind.value(atPosition: 1)) + "+"
                let tickY = belowY + barHeight + 4
                canvas.text(lo, x: x, y: tickY, color: ink)
                canvas.text(mid, x: x + (tileW - BitmapFont.width(of: mid, scale: textScale)) / 2, y: tickY, color: ink)
                canvas.text(hi, x: x + tileW - BitmapFont.width(of: hi, scale: textScale), y: tickY, color: ink)
            } else {
                canvas.text(fit(index == 0 ? inputNote : reconstructionNote, tileW), x: x, y: belowY, color: ink)
            }
        }
        return canvas.image
    }

    /// ``render(name:input:reconstruction:workspace:score:)`` encoded as PNG.
    public static func png(name: String, input: RGBImage, reconstruction: RGBImage, workspace: ScoringWorkspace,
                           score: PatchScore) throws(ImageCodecError) -> [UInt8] {
        try PNGEncoder.encode(render(name: name, input: input, reconstruction: reconstruction, workspace: workspace,
                                     score: score))
    }

    /// ``render(name:input:reconstruction:maps:score:)`` encoded as PNG.
    public static func png(name: String, input: RGBImage, reconstruction: RGBImage, maps: ErrorMapSet,
                           score: PatchScore) throws(ImageCodecError) -> [UInt8] {
        try PNGEncoder.encode(render(name: name, input: input, reconstruction: reconstruction, maps: maps, score: score))
    }

    static func fit(_ text: String, _ pixels: Int) -> String {
        let ascii = String(text.map { $0.isASCII ? $0 : "?" })
        let most = (pixels / textScale + 1) / BitmapFont.advance
        return ascii.count <= most ? ascii : String(ascii.prefix(max(0, most - 2))) + ".."
    }

    static func fixed(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }

    /// At most 7 characters: 3 significant digits, or 2 in scientific notation below 0.001.
    static func short(_ v: Double) -> String {
        v != 0 && abs(v) < 0.001 ? String(format: "%.1e", v) : String(format: "%.3g", v)
    }

    static func tick(_ v: Double) -> String { String(format: "%g", v) }
}

/// An RGB drawing surface for the panel.
struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int, background: UInt8) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: background, count: width * height * 3)
    }

    var image: RGBImage { RGBImage(width: width, height: height, pixels: pixels) }

    mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = (y * width + x) * 3
        pixels[o] = c.0; pixels[o + 1] = c.1; pixels[o + 2] = c.2
    }

    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ c: (UInt8, UInt8, UInt8)) {
        for yy in y ..< y + h { for xx in x ..< x + w { set(xx, yy, c) } }
    }

    /// Nearest-neighbour ×`scale` copy of `image` with its top-left corner at `(x, y)`.
    mutating func draw(_ image: RGBImage, x: Int, y: Int, scale: Int) {
        for yy in 0 ..< image.height * scale {
            for xx in 0 ..< image.width * scale {
                let o = ((yy / scale) * image.width + xx / scale) * 3
                set(x + xx, y + yy, (image.pixels[o], image.pixels[o + 1], image.pixels[o + 2]))
            }
        }
    }

    /// `text` in ``BitmapFont`` at ``Panel/textScale``, top-left corner at `(x, y)`.
    mutating func text(_ text: String, x: Int, y: Int, color: (UInt8, UInt8, UInt8)) {
        let s = Panel.textScale
        for (n, c) in text.enumerated() {
            let left = x + n * BitmapFont.advance * s
            for row in 0 ..< BitmapFont.glyphHeight {
                for column in 0 ..< BitmapFont.glyphWidth where BitmapFont.isInk(c, row: row, column: column) {
                    fill(x: left + column * s, y: y + row * s, width: s, height: s, color)
                }
            }
        }
    }

    /// Viridis from 0 (left) to 1 (right), with a dark 1-px frame.
    mutating func colorBar(x: Int, y: Int, width w: Int, height h: Int) {
        for xx in 0..<w {
            let c = Colormap.viridis(Double(xx) / Double(max(1, w - 1)))
            fill(x: x + xx, y: y, width: 1, height: h, (c.r, c.g, c.b))
        }
        fill(x: x, y: y, width: w, height: 1, Panel.ink)
        fill(x: x, y: y + h - 1, width: w, height: 1, Panel.ink)
        fill(x: x, y: y, width: 1, height: h, Panel.ink)
        fill(x: x + w - 1, y: y, width: 1, height: h, Panel.ink)
    }
}
