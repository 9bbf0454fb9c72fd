/// A width and height in pixels, e.g. the one size ``DecodeLimits/requiredSize`` accepts.
///
/// ```swift
/// let patch = ImageSize(width: 150, height: 150)
/// print(patch)  // 150×150
/// ```
public struct ImageSize: Sendable, Hashable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)×\(height)" }
}
