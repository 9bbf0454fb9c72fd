import AutoencoderModel
import Foundation
import ImageCodecs
import Testing
@testable import Scoring

/// Colormap, heatmaps, font and panel.
@Suite("Pictures")
struct PicturesTests {
    @Test("the viridis table is matplotlib's, 256 entries")
    func viridisMatchesMatplotlib() throws {
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: ScoringFixtures.url("viridis.json"))) as! [[Int]]
        #expect(reference.count == 256 && Scoring.viridisTable.count == 768)
        #expect(reference.flatMap { $0 }.map(UInt8.init) == Scoring.viridisTable)
    }

    @Test("colormap endpoints and clamping")
    func endpoints() {
        #expect(Colormap.viridis(0) == (68, 1, 84) && Colormap.viridis(1) == (253, 231, 37))
        #expect(Colormap.viridis(-3) == Colormap.viridis(0) && Colormap.viridis(7) == Colormap.viridis(1))
        #expect(Colormap.viridis(.nan) == Colormap.viridis(0))
        #expect(Colormap.viridis(0.5) == (33, 145, 140))
    }

    @Test("fixed scales: squared error 0…0.25 (square root), absolute error 0…0.5, 1 − SSIM 0…1, clamped")
    func scales() {
        #expect(ErrorMapKind.squaredError.normalized(0) == 0 && ErrorMapKind.squaredError.normalized(0.25) == 1)
        #expect(ErrorMapKind.squaredError.normalized(0.0625) == 0.5 && ErrorMapKind.squaredError.normalized(3) == 1)
        #expect(ErrorMapKind.squaredError.value(atPosition: 0.5) == 0.0625)
        #expect(ErrorMapKind.dissimilarity.value(atPosition: 0.5) == 0.5)
        #expect(ErrorMapKind.absoluteError.normalized(0.25) == 0.5)
        #expect(ErrorMapKind.dissimilarity.normalized(1.4) == 1 && ErrorMapKind.dissimilarity.normalized(-0.1) == 0)
    }

    @Test("heatmaps: sizes, and a perfect reconstruction is the bottom colour everywhere")
    func heatmaps() throws {
        let c = try ScoringFixtures.cases().first { $0.name == "patch0_blur" }!
        let workspace = ScoringWorkspace()
        ErrorMaps.compute(input: c.x, reconstruction: c.x, workspace: workspace)
        for kind in ErrorMapKind.allCases {
            let image = Heatmap.render(kind, workspace: workspace)
            #expect(image.width == 150 && image.height == 150)
            #expect(image.pixels == [UInt8]((0..<150 * 150).flatMap { _ in [68, 1, 84] as [UInt8] }))
        }
        ErrorMaps.compute(input: c.x, reconstruction: c.xHat, workspace: workspace)
        let double = Heatmap.render(.squaredError, workspace: workspace, scale: 2)
        #expect(double.width == 300 && double.height == 300)
        #expect(double.pixels[0..<3] == double.pixels[3..<6])       // nearest neighbour: pixel (0,0) drawn twice
        let png = try Heatmap.png(.dissimilarity, workspace: workspace)
        let decoded = try ImageDecoder.decode(png)
        #expect(decoded == Heatmap.render(.dissimilarity, workspace: workspace))
    }

    @Test("the font covers printable ASCII in 5 × 8 cells; anything else draws as ?")
    func font() {
        #expect(BitmapFont.rows.count == 95 * BitmapFont.glyphHeight)
        #expect(BitmapFont.rows.allSatisfy { $0 < 32 })
        #expect((0..<8).allSatisfy { row in (0..<5).allSatisfy { !BitmapFont.isInk(" ", row: row, column: $0) } })
        #expect(BitmapFont.isInk("A", row: 3, column: 0) && BitmapFont.isInk("g", row: 7, column: 1))
        #expect(BitmapFont.glyphIndex("σ") == BitmapFont.glyphIndex("?"))
        #expect(BitmapFont.width(of: "MSE", scale: 2) == 34 && BitmapFont.width(of: "") == 0)
    }

    @Test("the panel title carries the verdict, score, threshold, flags and method")
    func panelTitle() throws {
        let scorer = SyntheticCalibration.scorer()
        let stained = try scorer.score(SyntheticCalibration.patch([.stainP99: 6]))
        #expect(Panel.title(name: "p", score: stained) == "p | ANOMALOUS | score \(Panel.fixed(stained.score, 3)) (threshold 0.99) | stain | signals")
        #expect(Panel.title(name: "q", score: try scorer.score(SyntheticCalibration.patch())).hasPrefix("q | normal | score "))
        #expect(Panel.title(name: "g", score: try scorer.score(SyntheticCalibration.patch(tissueFraction: 0.01))).contains("| NOT TISSUE |"))
    }

    @Test("the panel is input | reconstruction | squared error | 1 − SSIM | stain residual at ×2, with text and colour bars")
    func panel() throws {
        let c = try ScoringFixtures.cases().first { $0.name == "patch0_blur" }!
        let scorer = SyntheticCalibration.scorer()
        let workspace = ScoringWorkspace()
        let result = try scorer.score(input: c.x, reconstruction: c.xHat, image: c.image!, workspace: workspace)
        let reconstruction = try ScoringFixtures.image("recon_blur0.png")
        let panel = Panel.render(name: "patch0", input: c.image!, reconstruction: reconstruction, workspace: workspace, score: result)
        #expect(Panel.size(width: 150, height: 150) == (1572, 412))
        #expect(panel.width == 1572 && panel.height == 412)
        // Tiles start at (12 + i·312, 60); each source pixel is a 2 × 2 block.
        func pixel(_ image: RGBImage, _ x: Int, _ y: Int) -> [UInt8] {
            let o = (y * image.width + x) * 3
            return Array(image.pixels[o ..< o + 3])
        }
        let mse = Heatmap.render(.squaredError, workspace: workspace), ssim = Heatmap.render(.dissimilarity, workspace: workspace)
        let stain = Heatmap.render(.stain, workspace: workspace)
        #expect(workspace.stain.contains { $0 > 0 })
        for (x, y) in [(0, 0), (149, 149), (37, 101)] {
            #expect(pixel(panel, 12 + 2 * x + 1, 60 + 2 * y + 1) == pixel(c.image!, x, y))
            #expect(pixel(panel, 12 + 312 + 2 * x, 60 + 2 * y) == pixel(reconstruction, x, y))
            #expect(pixel(panel, 12 + 624 + 2 * x, 60 + 2 * y) == pixel(mse, x, y))
            #expect(pixel(panel, 12 + 936 + 2 * x, 60 + 2 * y) == pixel(ssim, x, y))
            #expect(pixel(panel, 12 + 1248 + 2 * x + 1, 60 + 2 * y + 1) == pixel(stain, x, y))
        }
        // Some ink in the title row; the colour bar runs from the bottom to the top of viridis.
        #expect((0..<1572).contains { pixel(panel, $0, 14) != [255, 255, 255] })
        for xx in 1..<299 {     // inside the 1-px frame of the bar at y 368…379
            let c = Colormap.viridis(Double(xx) / 299)
            #expect(pixel(panel, 12 + 624 + xx, 374) == [c.r, c.g, c.b])
        }
        #expect(pixel(panel, 12 + 624 + 1, 374)[0] < 80 && pixel(panel, 12 + 624 + 298, 374)[0] > 240)
        try Self.keep(panel, "patch0_blur_panel.png")
    }

    /// Set HISTOAE_PANEL_DIR to keep the pictures for a look.
    static func keep(_ image: RGBImage, _ name: String) throws {
        guard let folder = ProcessInfo.processInfo.environment["HISTOAE_PANEL_DIR"] else { return }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(PNGEncoder.encode(image)).write(to: URL(fileURLWithPath: folder).appendingPathComponent(name))
    }

    @Test("panels of every full-size fixture pair (kept for a look with HISTOAE_PANEL_DIR)")
    func fixturePanels() throws {
        let scorer = SyntheticCalibration.scorer(.combined)
        let workspace = ScoringWorkspace()
        for c in try ScoringFixtures.cases() where c.image != nil {
            let result = try scorer.score(input: c.x, reconstruction: c.xHat, image: c.image!, workspace: workspace)
            let reconstruction = c.xHat.withUnsafeBufferPointer { Normalization.denormalize($0.baseAddress!, width: 150, height: 150) }
            let panel = Panel.render(name: c.name, input: c.image!, reconstruction: reconstruction, workspace: workspace, score: result)
            #expect(panel.width == 1572)
            try Self.keep(panel, "\(c.name)_panel.png")
        }
    }
}
