extension TileGrid {
    /// Side of the square a tile is read as at ``ScanLevel/level`` for `scan`: ``regionSize`` without laying a
    /// grid, so one tile of a finished scan can be read again exactly as the scan read it.
    ///
    /// ```swift
    /// let side = TileGrid.regionSide(patchSize: 150, scan: scan)   // 150 when the level matches the model
    /// let pixels = try slide.read(region: SlideRegion(x: x, y: y, width: side, height: side), level: scan.level)
    /// ```
    public static func regionSide(patchSize: Int, scan: ScanLevel) -> Int {
        scan.needsResize ? max(1, Int((Double(patchSize) * scan.levelPixelsPerModelPixel).rounded())) : patchSize
    }
}
