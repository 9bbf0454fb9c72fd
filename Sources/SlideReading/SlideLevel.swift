/// One resolution of a slide's pyramid, as OpenSlide reports it: level 0 is the full scan, each further level a
/// reduced copy (`downsample` level-0 pixels per level pixel, not necessarily a power of two).
///
/// ```swift
/// for level in slide.levels { print(level.index, level.width, level.height, level.downsample) }
/// ```
public struct SlideLevel: Sendable, Equatable {
    public let index: Int
    public let width: Int
    public let height: Int
    /// Level-0 pixels per pixel of this level (≥ 1).
    public let downsample: Double

    public init(index: Int, width: Int, height: Int, downsample: Double) {
        self.index = index
        self.width = width
        self.height = height
        self.downsample = downsample
    }
}
