import AutoencoderModel
import Foundation
@testable import HTTPServer
import Scoring
import Testing

/// ``PatchReportJSON`` writes a score-only report as the bytes JSONEncoder (``ResponseRenderer/makeEncoder()``)
/// writes, on reports filled with random, extreme and hostile values.
struct PatchReportJSONTests {
    /// A deterministic generator (SplitMix64), so a failure names a reproducible case.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

        /// Every kind of Double the encoder formats differently: integers, tiny and huge exponents, subnormals,
        /// signed zeros, non-finite values and arbitrary bit patterns.
        mutating func double() -> Double {
            let special: [Double] = [0, -0.0, 1, -1, 3, 0.1, 1e-5, .leastNonzeroMagnitude, 2.2250738585072014e-308, 1e16, 1e300,
                                     -1.7976931348623157e308, 1.2345678901234568e17, 0.5, .nan, .infinity, -.infinity]
            switch below(4) {
            case 0: return special[below(special.count)]
            case 1: return Double(below(2_000_001)) - 1_000_000
            case 2: return Double(bitPattern: next())
            default: return Double(next() % 1_000_000_007) / Double(1 + below(1_000_000)) * (below(2) == 0 ? 1 : -1)
            }
        }

        /// Strings with every byte class the writer escapes or passes: controls, quotes, backslashes, slashes,
        /// multi-byte UTF-8, and (where the generator says so) a NUL.
        mutating func string(allowingNUL: Bool) -> String {
            let pieces = ["a", "Z", "9", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{08}", "\u{0C}", "\u{01}", "\u{1F}",
                          "\u{7F}", "é", "😀", "\u{2028}", "{\"maps\":", ".png", "\u{00}"]
            var text = ""
            for _ in 0..<below(12) { text += pieces[below(allowingNUL ? pieces.count : pieces.count - 1)] }
            return text
        }
    }

    static let card = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../models/default/model.json").standardized

    func randomReport(_ g: inout Generator, base: PatchScore, allowingNUL: Bool) -> PatchReport {
        var s = base
        var gen = g
        func statistics() -> PatchStatistics { PatchStatistics { _ in gen.double() } }
        s.statistics = statistics()
        s.percentiles = statistics()
        s.deviations = statistics()
        s.method = ScoreMethod.allCases[gen.below(ScoreMethod.allCases.count)]
        s.score = gen.double(); s.threshold = gen.double(); s.fpr = gen.double()
        s.percentile = gen.double(); s.deviation = gen.double()
        s.thresholdSource = ThresholdSource.allCases[gen.below(ThresholdSource.allCases.count)]
        s.anomalous = gen.below(2) == 0
        s.verdict = Verdict.allCases[gen.below(Verdict.allCases.count)]
        s.scoreStatistic = Statistic.allCases[gen.below(Statistic.allCases.count)]
        s.flags = ArtefactSignal.allCases.filter { _ in gen.below(2) == 0 }
        for signal in ArtefactSignal.allCases {
            s.signals[signal] = SignalReading(deviation: gen.double(),
                                              statistic: Statistic.allCases[gen.below(Statistic.allCases.count)],
                                              flag: gen.below(2) == 0)
        }
        s.calibration = CalibrationIdentity(source: gen.string(allowingNUL: allowingNUL), patches: gen.below(100_000))
        s.model = ModelIdentity(name: gen.string(allowingNUL: allowingNUL), version: gen.string(allowingNUL: allowingNUL),
                                weightsSHA256: gen.string(allowingNUL: false))
        let name: String? = gen.below(3) == 0 ? nil : gen.string(allowingNUL: allowingNUL)
        let report = PatchReport(index: gen.below(1000), name: name, score: s)
        g = gen
        return report
    }

    @Test func scoreReportsMatchJSONEncoderByteForByte() throws {
        let base = try PatchScorer(card: try ModelCard(contentsOf: Self.card)).score(PatchStatistics { _ in 0.02 })
        let encoder = ResponseRenderer.makeEncoder()
        var g = Generator(state: 19)
        for case_ in 0..<3000 {
            let report = randomReport(&g, base: base, allowingNUL: true)
            var written: [UInt8] = []
            #expect(PatchReportJSON.append(report, to: &written))
            let expected = Array(try encoder.encode(report))
            #expect(written == expected, "case \(case_): \(String(decoding: written, as: UTF8.self))\n≠\n\(String(decoding: expected, as: UTF8.self))")
            if written != expected { return }
        }
    }

    @Test func reportsWithMapsOrPicturesAreLeftToJSONEncoder() throws {
        let base = try PatchScorer(card: try ModelCard(contentsOf: Self.card)).score(PatchStatistics { _ in 0.02 })
        var withPicture = PatchReport(index: 0, name: nil, score: base)
        withPicture.reconstructionPNG = "AAAA"
        var withMaps = PatchReport(index: 0, name: nil, score: base)
        withMaps.maps = MapsReport(format: "png", width: 1, height: 1, msePNG: "A", ssimPNG: "B", stainPNG: "C")
        var out: [UInt8] = []
        #expect(!PatchReportJSON.append(withPicture, to: &out) && !PatchReportJSON.append(withMaps, to: &out) && out.isEmpty)
    }
}
