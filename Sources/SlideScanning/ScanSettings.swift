import AutoencoderModel
import SlideReading

/// How a slide is scanned: the tile grid, the reading threads and the engine requests. The defaults and the
/// limits live here, and only here: `histoae scan --help`, its validation and (later) the HTTP scan jobs read
/// them.
///
/// ```swift
/// var settings = ScanSettings()          // non-overlapping tiles with ≥ 50 % tissue, µm/px from the file
/// settings.stride = 75                   // half-overlapping tiles
/// settings.slideMPP = 1.0                // a slide without resolution metadata
/// try settings.validate()
/// ```
public struct ScanSettings: Sendable, Equatable {
    /// Step between tiles, in model pixels (at the model's µm/px): the patch size gives non-overlapping tiles.
    public var stride = ScanSettings.defaultStride
    /// Least fraction of a tile the tissue mask must call tissue for the tile to be scanned.
    public var minTissue = ScanSettings.defaultMinTissue
    /// The slide's level-0 µm/px when given (`--slide-mpp`): wins over the file's; needed when it has none.
    public var slideMPP: Double?
    /// The table's format: `tiles.csv` or `tiles.tsv`.
    public var tableFormat = TileTableFormat.csv
    /// Tiles per engine request (`--batch`).
    public var batch = ScanSettings.defaultBatch
    /// Engine requests kept in flight: while the engine computes one, the next ones wait queued, so its
    /// workers never wait for the reader or for the result writing.
    public var requestsInFlight = 3
    /// Threads reading and decoding tiles ahead of the engine (``TileReader``).
    public var readerThreads = 2
    /// Most tiles read ahead and not yet handed to the engine (memory: capacity × one 150 × 150 RGB patch).
    public var readerCapacity = 64
    /// Tissue detection at thumbnail resolution (SlideReading's defaults: 8 µm/px, adipose kept).
    public var tissue = TissueDetection()
    /// Longest side of the heatmap's slide picture, in pixels (the picture is never finer than level 0).
    public var heatmapMaxSide = 1024

    public static let defaultStride = CNNAutoencoder3.inputSize
    public static let strideRange = 1...65_536
    public static let defaultMinTissue = 0.5
    public static let minTissueRange = 0.0...1.0
    public static let defaultBatch = 16
    public static let batchRange = 1...1024
    /// `--slide-mpp` bounds: a positive number up to 1 mm per pixel (``Slide/maxMicronsPerPixel``).
    public static let slideMPPRange = Double.leastNonzeroMagnitude...Slide.maxMicronsPerPixel
    /// A level within this relative difference of the model's µm/px is read as is; otherwise tiles are resized.
    public static let levelMatchTolerance = ScanLevel.matchTolerance

    public init() {}

    /// A setting a user gives, by its JSON name (`POST /v1/scans`); ``flag`` is its `histoae scan` option.
    public enum Field: String, Sendable {
        case stride, minTissue = "min_tissue", slideMPP = "slide_mpp", batch

        /// `--stride`, `--min-tissue`, `--slide-mpp`, `--batch`.
        public var flag: String { "--" + rawValue.replacingOccurrences(of: "_", with: "-") }
    }

    /// Every field in its range, or one sentence naming the field that is not, as `name` calls it (the command
    /// line's flags by default; the HTTP API passes the JSON names).
    public func validate(naming name: (Field) -> String = \.flag) throws(SlideScanError) {
        guard Self.strideRange.contains(stride) else {
            throw .invalidSettings("\(name(.stride)) must be between \(Self.strideRange.lowerBound) and \(Self.strideRange.upperBound) model pixels, got \(stride)")
        }
        guard minTissue.isFinite, Self.minTissueRange.contains(minTissue) else {
            throw .invalidSettings("\(name(.minTissue)) must be a fraction in [0, 1], got \(minTissue)")
        }
        if let slideMPP, !(slideMPP.isFinite && Self.slideMPPRange.contains(slideMPP)) {
            throw .invalidSettings("\(name(.slideMPP)) must be a positive number of µm per pixel up to \(Int(Slide.maxMicronsPerPixel)), got \(slideMPP)")
        }
        guard Self.batchRange.contains(batch) else {
            throw .invalidSettings("\(name(.batch)) must be between \(Self.batchRange.lowerBound) and \(Self.batchRange.upperBound), got \(batch)")
        }
        guard (1...64).contains(requestsInFlight), (1...64).contains(readerThreads), (1...4096).contains(readerCapacity),
              (64...8192).contains(heatmapMaxSide) else {
            throw .invalidSettings("requests in flight and reader threads must be 1…64, reader capacity 1…4096, heatmap side 64…8192")
        }
    }
}

/// The per-tile table's format.
public enum TileTableFormat: String, Sendable, CaseIterable {
    /// Comma-separated, fields quoted when they hold a comma, a quote or a line break (RFC 4180).
    case csv
    /// Tab-separated, no quoting (a tab or line break inside a field becomes a space).
    case tsv

    public var fileName: String { "tiles.\(rawValue)" }
    var separator: Character { self == .csv ? "," : "\t" }
}
