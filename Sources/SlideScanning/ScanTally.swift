import Scoring

/// Counts a scan's results as they arrive — per verdict, per flag — and keeps the ``ScanSummary/topCount`` most
/// anomalous tissue tiles (highest score; ties broken by the larger deviation, then the earlier tile), in
/// constant memory.
///
/// ```swift
/// var tally = ScanTally()
/// tally.add(scannedTile)
/// print(tally.verdicts.anomalous, tally.top.first?.x ?? -1)
/// ```
struct ScanTally {
    private(set) var tiles = 0
    private(set) var verdicts = ScanSummary.VerdictCounts()
    private(set) var flags = ScanSummary.FlagCounts()
    /// The most anomalous tissue tiles, most anomalous first (at most ``ScanSummary/topCount``).
    private(set) var top: [ScanSummary.TopTile] = []

    mutating func add(_ scanned: ScannedTile) {
        let score = scanned.score
        tiles += 1
        verdicts[score.verdict] += 1
        for flag in score.flags { flags[flag] += 1 }
        // Glass scores 1 (it deviates from tissue in every way) but is no anomalous *tissue*: not ranked.
        guard score.verdict != .notTissue else { return }
        let entry = ScanSummary.TopTile(tile: scanned.tile.index, x: scanned.x, y: scanned.y, width: scanned.side,
                                        height: scanned.side, score: score.score, verdict: score.verdict,
                                        flags: score.flags, scoreStatistic: score.scoreStatistic,
                                        deviation: score.deviation)
        guard top.count < ScanSummary.topCount || Self.ranksBefore(entry, top[top.count - 1]) else { return }
        let at = top.firstIndex { Self.ranksBefore(entry, $0) } ?? top.count
        top.insert(entry, at: at)
        if top.count > ScanSummary.topCount { top.removeLast() }
    }

    /// Whether `a` is more anomalous than `b` (a NaN score or deviation ranks last).
    static func ranksBefore(_ a: ScanSummary.TopTile, _ b: ScanSummary.TopTile) -> Bool {
        let scoreA = a.score.isNaN ? -.infinity : a.score, scoreB = b.score.isNaN ? -.infinity : b.score
        if scoreA != scoreB { return scoreA > scoreB }
        let deviationA = a.deviation.isNaN ? -.infinity : a.deviation
        let deviationB = b.deviation.isNaN ? -.infinity : b.deviation
        if deviationA != deviationB { return deviationA > deviationB }
        return a.tile < b.tile
    }
}
