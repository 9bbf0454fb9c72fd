import Foundation
import Scoring
import SlideReading

/// `summary.json`: what was scanned and what was found — the slide's metadata (vendor, size, µm/px, the level
/// used), the grid, the tiles scanned, the counts per verdict and per flag, the ``topCount`` most anomalous
/// tissue tiles with their level-0 coordinates, the timings, and the model (and the precision it ran in),
/// calibration, method and threshold (with its false-positive rate) that judged them. Keys are snake_case,
/// sorted (swift-corelibs-foundation's encoder keeps no declaration order), so two summaries diff line by line.
///
/// ```swift
/// let summary = try JSONDecoder().decode(ScanSummary.self, from: Data(contentsOf: folder.appendingPathComponent("summary.json")))
/// print(summary.verdicts.anomalous, summary.mostAnomalous.first?.x ?? -1)
/// ```
public struct ScanSummary: Codable, Sendable, Equatable {
    /// How many of the most anomalous tiles are listed.
    public static let topCount = 10
    public static let fileName = "summary.json"

    public struct SlideInfo: Codable, Sendable, Equatable {
        /// The slide's file name (not its folder).
        public var file: String
        /// OpenSlide's `openslide.vendor` (`aperio`, `generic-tiff`, …), nil when it names none.
        public var vendor: String?
        /// Level-0 size in pixels.
        public var width: Int
        public var height: Int
        public var levels: Int
        /// The file's `openslide.mpp-x/-y`, nil when absent.
        public var mppX: Double?
        public var mppY: Double?
        /// The level-0 µm/px the scan used, and where it came from (`file` or `given`: `--slide-mpp`).
        public var mpp: Double
        public var mppSource: SlideScanPlan.ResolutionSource
        public var openslideVersion: String

        enum CodingKeys: String, CodingKey {
            case file, vendor, width, height, levels
            case mppX = "mpp_x", mppY = "mpp_y", mpp
            case mppSource = "mpp_source", openslideVersion = "openslide_version"
        }

        /// Absent metadata is written as `null`, not left out: a reader sees that the file has none.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(file, forKey: .file)
            try container.encode(vendor, forKey: .vendor)
            try container.encode(width, forKey: .width)
            try container.encode(height, forKey: .height)
            try container.encode(levels, forKey: .levels)
            try container.encode(mppX, forKey: .mppX)
            try container.encode(mppY, forKey: .mppY)
            try container.encode(mpp, forKey: .mpp)
            try container.encode(mppSource, forKey: .mppSource)
            try container.encode(openslideVersion, forKey: .openslideVersion)
        }
    }

    public struct ScanInfo: Codable, Sendable, Equatable {
        /// The pyramid level read, its downsample and its µm/px.
        public var level: Int
        public var downsample: Double
        public var levelMPP: Double
        /// The model's µm/px (its card's `input.mpp`).
        public var modelMPP: Double
        /// Whether tiles were resized to the model's scale (no level within 5 % of it).
        public var resized: Bool
        /// Side, in pixels of the level read, of the square read per tile.
        public var readSide: Int
        /// Side of a tile in level-0 pixels.
        public var tileSide: Int
        /// Patch size and stride in model pixels; least mask tissue fraction of a scanned tile.
        public var patchSize: Int
        public var stride: Int
        public var minTissue: Double
        /// The full grid (before the tissue filter) and the tiles scanned.
        public var columns: Int
        public var rows: Int
        public var tiles: Int
        /// Fraction of the slide the tissue mask calls tissue, and the mask's size and µm/px.
        public var tissueArea: Double
        public var maskWidth: Int
        public var maskHeight: Int
        public var maskMPP: Double

        enum CodingKeys: String, CodingKey {
            case level, downsample, levelMPP = "level_mpp", modelMPP = "model_mpp", resized
            case readSide = "read_side", tileSide = "tile_side", patchSize = "patch_size", stride
            case minTissue = "min_tissue", columns, rows, tiles, tissueArea = "tissue_area"
            case maskWidth = "mask_width", maskHeight = "mask_height", maskMPP = "mask_mpp"
        }
    }

    /// Tiles per verdict (JSON keys: the verdicts' words).
    public struct VerdictCounts: Codable, Sendable, Equatable {
        public var normal = 0, anomalous = 0, notTissue = 0
        enum CodingKeys: String, CodingKey { case normal, anomalous, notTissue = "not_tissue" }

        public subscript(verdict: Verdict) -> Int {
            get { switch verdict { case .normal: normal; case .anomalous: anomalous; case .notTissue: notTissue } }
            set {
                switch verdict {
                case .normal: normal = newValue
                case .anomalous: anomalous = newValue
                case .notTissue: notTissue = newValue
                }
            }
        }
    }

    /// Tiles raising each flag (JSON keys: the signals' words).
    public struct FlagCounts: Codable, Sendable, Equatable {
        public var highError = 0, stain = 0, blur = 0, background = 0
        enum CodingKeys: String, CodingKey { case highError = "high_error", stain, blur, background }

        public subscript(flag: PatchFlag) -> Int {
            get { switch flag { case .highError: highError; case .stain: stain; case .blur: blur; case .background: background } }
            set {
                switch flag {
                case .highError: highError = newValue
                case .stain: stain = newValue
                case .blur: blur = newValue
                case .background: background = newValue
                }
            }
        }
    }

    /// One of the most anomalous tiles: where it is (level-0 pixels) and why.
    public struct TopTile: Codable, Sendable, Equatable {
        public var tile: Int
        public var x: Int
        public var y: Int
        public var width: Int
        public var height: Int
        public var score: Double
        public var verdict: Verdict
        public var flags: [PatchFlag]
        public var scoreStatistic: Statistic
        public var deviation: Double

        enum CodingKeys: String, CodingKey {
            case tile, x, y, width, height, score, verdict, flags, scoreStatistic = "score_statistic", deviation
        }
    }

    /// Seconds per step, and the scan's rate.
    public struct Timings: Codable, Sendable, Equatable {
        public var openSeconds: Double
        public var tissueSeconds: Double
        public var gridSeconds: Double
        /// From the first tile requested to the last result written.
        public var scanSeconds: Double
        /// Heatmap, summary and renaming the files into place.
        public var finishSeconds: Double
        public var totalSeconds: Double
        public var tilesPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case openSeconds = "open_s", tissueSeconds = "tissue_s", gridSeconds = "grid_s", scanSeconds = "scan_s"
            case finishSeconds = "finish_s", totalSeconds = "total_s", tilesPerSecond = "tiles_per_s"
        }
    }

    public var slide: SlideInfo
    public var scan: ScanInfo
    public var tilesScanned: Int
    public var verdicts: VerdictCounts
    public var flags: FlagCounts
    public var mostAnomalous: [TopTile]
    public var timings: Timings
    public var model: ModelIdentity
    /// The arithmetic the model ran in: `"fp32"` or `"bf16"` (``ScanContext/precision``).
    public var precision: String
    public var calibration: CalibrationIdentity
    public var method: ScoreMethod
    public var threshold: Double
    public var fpr: Double
    public var thresholdSource: ThresholdSource
    /// The files written beside this one.
    public var outputs: [String]

    enum CodingKeys: String, CodingKey {
        case slide, scan, tilesScanned = "tiles_scanned", verdicts, flags, mostAnomalous = "most_anomalous"
        case timings, model, precision, calibration, method, threshold, fpr, thresholdSource = "threshold_source", outputs
    }

    /// The JSON bytes: pretty-printed, keys sorted, non-finite numbers as strings.
    public func encoded() throws(SlideScanError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                     negativeInfinity: "-Infinity", nan: "NaN")
        do { return try encoder.encode(self) + Data("\n".utf8) } catch {
            throw .output(path: Self.fileName, reason: "cannot encode: \(error)")
        }
    }
}
