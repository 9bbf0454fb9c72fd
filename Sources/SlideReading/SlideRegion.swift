/// A rectangle to read from a slide, in OpenSlide's convention: the top-left corner in **level-0** pixels and
/// the size in pixels **of the level read** — so one origin means the same place on the tissue at every level.
///
/// ```swift
/// // 150 × 150 level-2 pixels whose top-left corner is level-0 pixel (4096, 8192)
/// let image = try slide.read(region: SlideRegion(x: 4096, y: 8192, width: 150, height: 150), level: 2)
/// ```
public struct SlideRegion: Sendable, Equatable, Hashable {
    /// Level-0 column of the top-left corner.
    public var x: Int
    /// Level-0 row of the top-left corner.
    public var y: Int
    /// Width in pixels of the level read.
    public var width: Int
    /// Height in pixels of the level read.
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}
