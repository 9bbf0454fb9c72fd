import Scoring

/// A score-only ``PatchReport`` written as ``ResponseRenderer/makeEncoder()``'s JSONEncoder writes it — keys sorted,
/// slashes unescaped, non-finite numbers as the strings `"NaN"`, `"Infinity"`, `"-Infinity"` — byte for byte
/// (`ResponseJSONTests` compare the two on random and hostile reports), without JSONEncoder's tree of boxed values.
///
/// Why: under the load test JSONEncoder took ~0.27 ms of the ~1.7 ms a `/v1/score` request costs the server's
/// threads (perf on `histoae serve --precision bf16`, 32 clients), for a ~1.3 KB answer.
///
/// ```swift
/// var out: [UInt8] = []
/// if !PatchReportJSON.append(report, to: &out) { out += try encoder.encode(report) }   // maps: JSONEncoder
/// ```
enum PatchReportJSON {
    /// Appends `report` and returns true; returns false (appending nothing) for a report with maps or a
    /// reconstruction, which JSONEncoder writes.
    static func append(_ report: PatchReport, to out: inout [UInt8]) -> Bool {
        guard report.maps == nil, report.reconstructionPNG == nil else { return false }
        let s = report.score
        out.append(UInt8(ascii: "{"))
        key("anomalous", &out, first: true); out.append(contentsOf: (s.anomalous ? "true" : "false").utf8)
        key("calibration", &out)
        out.append(contentsOf: #"{"patches":"#.utf8); out.append(contentsOf: String(s.calibration.patches).utf8)
        key("source", &out); string(s.calibration.source, &out)
        out.append(UInt8(ascii: "}"))
        key("deviation", &out); number(s.deviation, &out)
        key("deviations", &out); statistics(s.deviations, &out)
        key("flags", &out)
        out.append(UInt8(ascii: "["))
        for (index, flag) in s.flags.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            string(flag.rawValue, &out)
        }
        out.append(UInt8(ascii: "]"))
        key("fpr", &out); number(s.fpr, &out)
        key("index", &out); out.append(contentsOf: String(report.index).utf8)
        key("method", &out); string(s.method.rawValue, &out)
        key("model", &out)
        out.append(contentsOf: #"{"name":"#.utf8); string(s.model.name, &out)
        key("version", &out); string(s.model.version, &out)
        key("weights_sha256", &out); string(s.model.weightsSHA256, &out)
        out.append(UInt8(ascii: "}"))
        key("name", &out)
        if let name = report.name { string(name, &out) } else { out.append(contentsOf: "null".utf8) }
        key("percentile", &out); number(s.percentile, &out)
        key("percentiles", &out); statistics(s.percentiles, &out)
        key("score", &out); number(s.score, &out)
        key("score_statistic", &out); string(s.scoreStatistic.rawValue, &out)
        key("signals", &out)
        out.append(UInt8(ascii: "{"))
        for (index, signal) in [(ArtefactSignal.background, s.signals.background), (.blur, s.signals.blur),
                                (.highError, s.signals.highError), (.stain, s.signals.stain)].enumerated() {
            key(signal.0.rawValue, &out, first: index == 0)
            out.append(contentsOf: #"{"deviation":"#.utf8); number(signal.1.deviation, &out)
            key("flag", &out); out.append(contentsOf: (signal.1.flag ? "true" : "false").utf8)
            key("statistic", &out); string(signal.1.statistic.rawValue, &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
        key("statistics", &out); statistics(s.statistics, &out)
        key("threshold", &out); number(s.threshold, &out)
        key("threshold_source", &out); string(s.thresholdSource.rawValue, &out)
        key("verdict", &out); string(s.verdict.rawValue, &out)
        out.append(UInt8(ascii: "}"))
        return true
    }

    /// `,"name":` (no comma before an object's first key). Keys are this file's own ASCII literals.
    private static func key(_ name: String, _ out: inout [UInt8], first: Bool = false) {
        if !first { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: "\":".utf8)
    }

    /// The eight statistics, keys sorted.
    private static func statistics(_ v: PatchStatistics, _ out: inout [UInt8]) {
        out.append(contentsOf: #"{"dssim_p99":"#.utf8); number(v.dssimP99, &out)
        key("l1", &out); number(v.l1, &out)
        key("mse", &out); number(v.mse, &out)
        key("mse_p99", &out); number(v.mseP99, &out)
        key("sharpness", &out); number(v.sharpness, &out)
        key("ssim", &out); number(v.ssim, &out)
        key("stain_p99", &out); number(v.stainP99, &out)
        key("tissue_fraction", &out); number(v.tissueFraction, &out)
        out.append(UInt8(ascii: "}"))
    }

    /// JSONEncoder's number: the shortest round-tripping decimal (`description`) without a trailing `.0`; a
    /// non-finite value as the string the encoder's strategy names.
    private static func number(_ value: Double, _ out: inout [UInt8]) {
        guard value.isFinite else {
            out.append(contentsOf: (value.isNaN ? #""NaN""# : value > 0 ? #""Infinity""# : #""-Infinity""#).utf8)
            return
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        out.append(contentsOf: text.utf8)
    }

    /// JSONEncoder's string: `"` and `\` escaped, `\b \f \n \r \t`, the other bytes below 0x20 (NUL too) as `\u00xx`
    /// (lowercase hex), everything else — `/` and all of UTF-8 — as it is.
    private static func string(_ text: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x00..<0x20:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                        hexDigit(byte >> 4), hexDigit(byte & 0x0F)]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The lowercase hex digit of `value` (0 … 15).
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
