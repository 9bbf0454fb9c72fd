import ImageCodecs

/// The viridis colormap (perceptually uniform, readable in grayscale and by colour-blind viewers).
public enum Colormap {
    /// 256 entries.
    public static let count = 256

    /// Viridis at `t ∈ [0, 1]` (clamped; NaN → 0): table entry `round(255 · t)`.
    public static func viridis(_ t: Double) -> (r: UInt8, g: UInt8, b: UInt8) {
        let clamped = t.isNaN ? 0 : min(1, max(0, t))
        let i = Int((clamped * 255).rounded()) * 3
        return (viridisTable[i], viridisTable[i + 1], viridisTable[i + 2])
    }
}

/// The error maps a heatmap can show, each with a FIXED scale so heatmaps of different patches and models
/// compare directly: a value's position on the scale, `0…1` (clamped), picks the ``Colormap/viridis(_:)``
/// colour (dark purple = no error, yellow = the top of the scale or beyond).
///
/// | map | shown value (per pixel) | position on the colour bar |
/// |---|---|---|
/// | `squaredError` | `se = mean_c (x − x̂)²` in the `[−1, 1]` space | `√(se / 0.25)`: square-root scale, 0 … 0.25 (mid-bar = 0.0625) |
/// | `absoluteError` | `mean_c |x − x̂|` | linear, 0 … 0.5 |
/// | `dissimilarity` | `1 − SSIM` | linear, 0 … 1 (SSIM < 0 clamps to the top) |
/// | `stain` | the stain residual, a share of the pixel's optical density (``StainResidual``) | linear, 0 … 0.5 |
///
/// The square root (= linear in the RMS error `√se`, 0 … 0.5, i.e. up to ±64/255 per channel) keeps the
/// texture of a *normal* reconstruction visible (per-pixel `se` ≈ 0.001 … 0.02 for a trained model, which a
/// linear 0 … 0.25 bar shows as uniformly dark) while pen marks and stain errors still saturate.
public enum ErrorMapKind: String, CaseIterable, Sendable {
    case squaredError = "mse"
    case absoluteError = "l1"
    case dissimilarity = "ssim"
    case stain

    public var scale: ClosedRange<Double> {
        switch self {
        case .squaredError: 0...0.25
        case .absoluteError: 0...0.5
        case .dissimilarity: 0...1
        case .stain: 0...0.5
        }
    }

    /// Short ASCII label for pictures.
    public var label: String {
        switch self {
        case .squaredError: "squared error"
        case .absoluteError: "absolute error"
        case .dissimilarity: "1 - SSIM"
        case .stain: "stain residual"
        }
    }

    /// The shown value at pixel `i` of the workspace's maps.
    @inline(__always) func value(_ map: UnsafeBufferPointer<Double>, _ i: Int) -> Double {
        self == .dissimilarity ? 1 - map[i] : map[i]
    }

    /// `true` for the square-root colour scale (``squaredError``).
    public var isSquareRootScale: Bool { self == .squaredError }

    /// Position of `value` on the colour bar, `0…1`, clamped.
    public func normalized(_ value: Double) -> Double {
        let linear = min(1, max(0, (value - scale.lowerBound) / (scale.upperBound - scale.lowerBound)))
        return isSquareRootScale ? linear.squareRoot() : linear
    }

    /// The value at `position` (`0…1`) of the colour bar: the inverse of ``normalized(_:)``, for tick labels.
    public func value(atPosition position: Double) -> Double {
        let t = isSquareRootScale ? position * position : position
        return scale.lowerBound + t * (scale.upperBound - scale.lowerBound)
    }

    func map(_ maps: ErrorMapSet) -> [Double] {
        switch self {
        case .squaredError: maps.squaredError
        case .absoluteError: maps.absoluteError
        case .dissimilarity: maps.ssim
        case .stain: maps.stain
        }
    }
}

/// The four maps of one patch, detached from the ``ScoringWorkspace`` that computed them, so they can be
/// drawn on another thread. Each is `(height, width)` row-major.
public struct ErrorMapSet: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let squaredError: [Double]
    public let absoluteError: [Double]
    public let ssim: [Double]
    /// The stain residual, 0 … 1 (zeros when the workspace computed none).
    public let stain: [Double]

    /// Shares the workspace's arrays (copy-on-write: a later computation leaves these unchanged).
    public init(_ workspace: ScoringWorkspace) {
        width = workspace.width
        height = workspace.height
        squaredError = workspace.squaredError
        absoluteError = workspace.absoluteError
        ssim = workspace.ssim
        stain = workspace.stain
    }
}

/// Heatmap images of the maps in a ``ScoringWorkspace``.
///
/// ```swift
/// let result = try scorer.score(input: x, reconstruction: xHat, image: rgb, workspace: workspace)
/// let png = try Heatmap.png(.squaredError, workspace: workspace)        // 150 × 150 viridis PNG
/// ```
public enum Heatmap {
    /// The map as an RGB image, each map pixel drawn as a `scale × scale` block (nearest neighbour).
    public static func render(_ kind: ErrorMapKind, workspace: ScoringWorkspace, scale: Int = 1) -> RGBImage {
        render(kind, maps: ErrorMapSet(workspace), scale: scale)
    }

    /// The same for detached maps.
    public static func render(_ kind: ErrorMapKind, maps: ErrorMapSet, scale: Int = 1) -> RGBImage {
        precondition(scale >= 1)
        let w = maps.width, h = maps.height, outWidth = w * scale
        var pixels = [UInt8](repeating: 0, count: w * h * scale * scale * 3)
        kind.map(maps).withUnsafeBufferPointer { map in
            pixels.withUnsafeMutableBufferPointer { out in
                for y in 0..<h {
                    for x in 0..<w {
                        let c = Colormap.viridis(kind.normalized(kind.value(map, y * w + x)))
                        for dy in 0..<scale {
                            var o = ((y * scale + dy) * outWidth + x * scale) * 3
                            for _ in 0..<scale {
                                out[o] = c.r; out[o + 1] = c.g; out[o + 2] = c.b
                                o += 3
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: h * scale, pixels: pixels)
    }

    /// ``render(_:workspace:scale:)`` encoded as PNG.
    public static func png(_ kind: ErrorMapKind, workspace: ScoringWorkspace, scale: Int = 1) throws(ImageCodecError) -> [UInt8] {
        try PNGEncoder.encode(render(kind, workspace: workspace, scale: scale))
    }

    /// ``render(_:maps:scale:)`` encoded as PNG.
    public static func png(_ kind: ErrorMapKind, maps: ErrorMapSet, scale: Int = 1) throws(ImageCodecError) -> [UInt8] {
        try PNGEncoder.encode(render(kind, maps: maps, scale: scale))
    }
}
