/// The SSIM map of ``ErrorMaps`` in one streaming pass per channel: the five Gaussian-filtered planes
/// (`mx`, `my`, `G(x·x)`, `G(y·y)`, `G(x·y)`) are never materialized, and neither are `x`, `y` or the products.
///
/// Each output is still exactly ``GaussianFilter/apply(_:to:temporary:padded:)`` of the plane it stands for:
/// the products are formed per reflected row (`x[p]·x[p]` is the product plane's entry `p`), every row is
/// filtered by ``GaussianFilter/filterRow(taps:weights:count:padded:into:)``, and every column output sums the
/// same row-filtered values with the same taps in the same ascending order, from zero. What changes is only
/// where the row-filtered rows wait: a ring of `2·radius + 1` rows per quantity (the window of one output row,
/// a few dozen KB) instead of five full planes, and the SSIM formula runs on each output row as it leaves the
/// column filter (five rows of `width`), not on five planes read back afterwards.
///
/// ```swift
/// SSIMMap.addChannel(x + c * plane, xHat + c * plane, step: c == 0 ? .first : c == 2 ? .last(channels: 3) : .middle,
///                    into: ssim, workspace: workspace)
/// ```
enum SSIMMap {
    /// How a channel's SSIM joins the running map: `0 + s` (first), `m + s`, or `(m + s) / channels` (last) —
    /// the original's zero fill, `+=` per channel and final `/= channels`, fused.
    enum Step { case first, middle, last(channels: Int) }

    /// The five quantities of one channel, in ring order.
    static let quantities = 5

    /// Adds the SSIM map of one channel (`a`, `b`: `(H, W)` float32 planes of x and x̂) into `ssim`.
    /// - Precondition: `workspace.height > radius` (the ring holds every row an output row reads; the
    ///   workspace guarantees more than `2·radius`).
    static func addChannel(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, step: Step,
                           into ssim: UnsafeMutablePointer<Double>, workspace ws: ScoringWorkspace) {
        let filter = ws.ssimFilter
        let w = filter.width, h = filter.height, r = filter.radius, taps = 2 * r + 1
        precondition(h > r, "SSIMMap: plane \(w) × \(h) too small for radius \(r)")
        let ring = ws.ssimRing, rows = ws.ssimRows, paddedWidth = w + 2 * r
        let ringStride = taps * w
        filter.weights.withUnsafeBufferPointer { k in
            filter.columnSource.withUnsafeBufferPointer { cols in
                filter.ringSlot.withUnsafeBufferPointer { slot in
                    var filteredRows = 0
                    for y in 0..<h {
                        // Every row output row `y` reads (source rows y−r … y+r, reflected) is in the ring.
                        let needed = min(h - 1, y + r)
                        while filteredRows <= needed {
                            rowPass(a + filteredRows * w, b + filteredRows * w, rows: rows, paddedWidth: paddedWidth,
                                    columns: cols.baseAddress!, width: w, radius: r)
                            let target = ring + (filteredRows % taps) * w
                            for q in 0..<quantities {
                                GaussianFilter.filterRow(taps: taps, weights: k.baseAddress!, count: w,
                                                         padded: rows + q * paddedWidth, into: target + q * ringStride)
                            }
                            filteredRows += 1
                        }
                        columnPass(y: y, ring: UnsafePointer(ring), ringStride: ringStride, slots: slot.baseAddress!,
                                   taps: taps, weights: k.baseAddress!, width: w, step: step,
                                   filtered: rows + quantities * paddedWidth, into: ssim + y * w)
                    }
                }
            }
        }
    }

    /// One reflected source row of x and y converted to `Double`, and their products: five rows of
    /// `paddedWidth` at `rows` (x, y, x·x, y·y, x·y).
    @inline(__always)
    private static func rowPass(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                rows: UnsafeMutablePointer<Double>, paddedWidth: Int,
                                columns: UnsafePointer<Int>, width w: Int, radius r: Int) {
        let px = rows, py = rows + paddedWidth
        let pxx = rows + 2 * paddedWidth, pyy = rows + 3 * paddedWidth, pxy = rows + 4 * paddedWidth
        for i in 0..<w { px[r &+ i] = Double(a[i]); py[r &+ i] = Double(b[i]) }
        for p in 0..<r { px[p] = Double(a[columns[p]]); py[p] = Double(b[columns[p]]) }
        for p in r &+ w ..< paddedWidth { px[p] = Double(a[columns[p]]); py[p] = Double(b[columns[p]]) }
        for p in 0..<paddedWidth {
            pxx[p] = px[p] * px[p]
            pyy[p] = py[p] * py[p]
            pxy[p] = px[p] * py[p]
        }
    }

    /// Output row `y`: each quantity's column filter into a row of `filtered` (`width` each: mx, my, G(x·x),
    /// G(y·y), G(x·y)), then the SSIM formula and the channel step into `out`.
    @inline(__always)
    private static func columnPass(y: Int, ring: UnsafePointer<Double>, ringStride: Int, slots: UnsafePointer<Int>,
                                   taps: Int, weights k: UnsafePointer<Double>, width w: Int, step: Step,
                                   filtered: UnsafeMutablePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        for q in 0..<quantities {
            GaussianFilter.filterColumns(taps: taps, weights: k, count: w, rows: ring + q * ringStride,
                                         rowStride: w, slots: slots + y, into: filtered + q * w)
        }
        let mx = filtered, my = filtered + w, sxx = filtered + 2 * w, syy = filtered + 3 * w, sxy = filtered + 4 * w
        let c1 = (ScoringConstants.ssimK1 * ScoringConstants.dataRange) * (ScoringConstants.ssimK1 * ScoringConstants.dataRange)
        let c2 = (ScoringConstants.ssimK2 * ScoringConstants.dataRange) * (ScoringConstants.ssimK2 * ScoringConstants.dataRange)
        // ErrorMaps' formula, operation for operation; the three steps are the original's zero fill, `+=` per
        // channel and final `/= channels`.
        @inline(__always) func ssim(_ i: Int) -> Double {
            let vx = sxx[i] - mx[i] * mx[i]
            let vy = syy[i] - my[i] * my[i]
            let vxy = sxy[i] - mx[i] * my[i]
            return ((2 * mx[i] * my[i] + c1) * (2 * vxy + c2)) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2))
        }
        switch step {
        case .first: for i in 0..<w { out[i] = 0 + ssim(i) }
        case .middle: for i in 0..<w { out[i] = out[i] + ssim(i) }
        case .last(let channels):
            let count = Double(channels)
            for i in 0..<w { out[i] = (out[i] + ssim(i)) / count }
        }
    }
}
