import COpenSlide
import Foundation

/// A whole-slide image opened with OpenSlide 3.4.1 (Aperio SVS, generic tiled TIFF, Hamamatsu NDPI/VMS/VMU,
/// MIRAX, Leica SCN, Sakura SVSLIDE, Ventana BIF): its pyramid levels, its µm/px and its properties, read
/// once at open; pixels come from ``read(region:level:)``.
///
/// Thread safety: OpenSlide handles are thread-safe for reads ("multiple threads may use one `openslide_t`
/// concurrently", openslide.h), so one `Slide` serves every ``TileReader`` thread; only `openslide_close` is
/// not, and it runs in `deinit`, when no thread holds the slide any more. After a failed read OpenSlide puts
/// the handle in a permanent error state: every later read throws ``SlideError/readFailed(path:reason:)``.
///
/// ```swift
/// let slide = try Slide(path: "cmu-1-small-region.svs")
/// print(slide.vendor ?? "?", slide.levels.count, slide.micronsPerPixel ?? .nan)   // aperio 1 0.499
/// let corner = try slide.read(region: SlideRegion(x: 0, y: 0, width: 256, height: 256), level: 0)
/// ```
public final class Slide: @unchecked Sendable {
    /// The path as given.
    public let path: String
    /// OpenSlide's `openslide.vendor` ("aperio", "generic-tiff", "hamamatsu", …), nil if it names none.
    public let vendor: String?
    /// Level 0 first (the full scan), then each reduced level, as OpenSlide orders them.
    public let levels: [SlideLevel]
    /// Every property OpenSlide reports (`openslide.*`, and the vendor's own such as `aperio.MPP`).
    public let properties: [String: String]
    /// Level-0 µm per pixel across (`openslide.mpp-x`), nil when absent or not a usable number.
    public let mppX: Double?
    /// Level-0 µm per pixel down (`openslide.mpp-y`), nil when absent or not a usable number.
    public let mppY: Double?

    /// The OpenSlide handle; thread-safe for reads (see the type's documentation).
    let handle: OpaquePointer

    /// Largest sane µm/px of a scan (1 mm per pixel); values outside (0, this] are treated as absent.
    public static let maxMicronsPerPixel = 1000.0
    /// The linked OpenSlide's version string ("3.4.1").
    public static let openSlideVersion = String(cString: openslide_get_version())

    /// Opens the slide and reads its metadata.
    ///
    /// - Throws: ``SlideError/notFound(path:)``, ``SlideError/notReadable(path:reason:)``,
    ///   ``SlideError/unsupportedFormat(path:)`` (also for a corrupt file OpenSlide cannot recognise),
    ///   ``SlideError/openFailed(path:reason:)``, ``SlideError/invalidMetadata(path:reason:)``.
    public init(path: String) throws(SlideError) {
        self.path = path
        // OpenSlide answers NULL alike for a missing file and a foreign format: tell them apart first.
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .notFound(path: path)
        }
        guard !isDirectory.boolValue else { throw .notReadable(path: path, reason: "it is a directory") }
        guard access(path, R_OK) == 0 else { throw .notReadable(path: path, reason: String(cString: strerror(errno))) }

        guard let handle = openslide_open(path) else { throw .unsupportedFormat(path: path) }
        if let message = openslide_get_error(handle) {
            let reason = SlideError.oneLine(String(cString: message))
            openslide_close(handle)
            throw .openFailed(path: path, reason: reason)
        }
        do {
            levels = try Self.readLevels(handle, path: path)
        } catch {
            openslide_close(handle)
            throw error
        }
        self.handle = handle
        properties = Self.readProperties(handle)
        vendor = properties["openslide.vendor"]
        mppX = Self.micronsPerPixel(properties["openslide.mpp-x"])
        mppY = Self.micronsPerPixel(properties["openslide.mpp-y"])
    }

    deinit {
        openslide_close(handle)
    }

    /// Level-0 µm per pixel: the mean of ``mppX`` and ``mppY`` (scanners' pixels are square to well under 1 %),
    /// whichever exists if only one does, nil if neither.
    public var micronsPerPixel: Double? {
        switch (mppX, mppY) {
        case let (x?, y?): return (x + y) / 2
        case let (x?, nil): return x
        case let (nil, y?): return y
        case (nil, nil): return nil
        }
    }

    /// The full scan's size.
    public var level0: SlideLevel { levels[0] }

    /// Every level's size and downsample, checked: a hostile file must not hand later arithmetic a zero, a
    /// negative or a NaN.
    private static func readLevels(_ handle: OpaquePointer, path: String) throws(SlideError) -> [SlideLevel] {
        let count = Int(openslide_get_level_count(handle))
        guard count >= 1 else {
            let reason = openslide_get_error(handle).map { SlideError.oneLine(String(cString: $0)) }
            throw .invalidMetadata(path: path, reason: reason ?? "the slide has no levels")
        }
        var levels: [SlideLevel] = []
        for index in 0..<count {
            var width: Int64 = -1, height: Int64 = -1
            openslide_get_level_dimensions(handle, Int32(index), &width, &height)
            let downsample = openslide_get_level_downsample(handle, Int32(index))
            guard width > 0, height > 0, width <= Int64(Int32.max), height <= Int64(Int32.max) else {
                throw .invalidMetadata(path: path, reason: "level \(index) measures \(width)×\(height) pixels")
            }
            guard downsample.isFinite, downsample >= 1 else {
                throw .invalidMetadata(path: path, reason: "level \(index) has downsample \(downsample)")
            }
            levels.append(SlideLevel(index: index, width: Int(width), height: Int(height), downsample: downsample))
        }
        return levels
    }

    private static func readProperties(_ handle: OpaquePointer) -> [String: String] {
        var properties: [String: String] = [:]
        guard var name = openslide_get_property_names(handle) else { return properties }
        while let key = name.pointee {
            if let value = openslide_get_property_value(handle, key) {
                properties[String(cString: key)] = String(cString: value)
            }
            name += 1
        }
        return properties
    }

    /// A property's µm/px if it is a finite number in (0, ``maxMicronsPerPixel``].
    static func micronsPerPixel(_ text: String?) -> Double? {
        guard let text, let value = Double(text.trimmingCharacters(in: .whitespaces)),
              value.isFinite, value > 0, value <= maxMicronsPerPixel else { return nil }
        return value
    }
}
