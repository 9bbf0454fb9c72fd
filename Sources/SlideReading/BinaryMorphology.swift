/// Binary morphology on a row-major 0/1 mask with square structuring elements (side `2r + 1`), each pass
/// separable and O(pixels) whatever the radius (running counts along rows, then columns). Pixels outside the
/// mask are neutral: they never erode the tissue at the border and never dilate into it.
///
/// ```swift
/// var mask: [UInt8] = …                                  // width × height, 1 = tissue
/// BinaryMorphology.open(&mask, width: w, height: h, radius: 2)
/// BinaryMorphology.close(&mask, width: w, height: h, radius: 4)
/// BinaryMorphology.fillHoles(&mask, width: w, height: h, maxArea: 500)
/// ```
enum BinaryMorphology {
    /// Erosion then dilation: removes foreground specks smaller than the element.
    static func open(_ mask: inout [UInt8], width: Int, height: Int, radius: Int) {
        guard radius > 0 else { return }
        erode(&mask, width: width, height: height, radius: radius)
        dilate(&mask, width: width, height: height, radius: radius)
    }

    /// Dilation then erosion: fills background gaps narrower than the element. Run on the mask padded with
    /// `radius` background pixels, so glass along the border is not closed over (with neutral outside pixels a
    /// strip of glass at the edge would fill).
    static func close(_ mask: inout [UInt8], width: Int, height: Int, radius: Int) {
        guard radius > 0 else { return }
        let paddedWidth = width + 2 * radius, paddedHeight = height + 2 * radius
        var padded = [UInt8](repeating: 0, count: paddedWidth * paddedHeight)
        for y in 0..<height {
            for x in 0..<width { padded[(y + radius) * paddedWidth + x + radius] = mask[y * width + x] }
        }
        dilate(&padded, width: paddedWidth, height: paddedHeight, radius: radius)
        erode(&padded, width: paddedWidth, height: paddedHeight, radius: radius)
        for y in 0..<height {
            for x in 0..<width { mask[y * width + x] = padded[(y + radius) * paddedWidth + x + radius] }
        }
    }

    static func dilate(_ mask: inout [UInt8], width: Int, height: Int, radius: Int) {
        // A pixel becomes 1 when any pixel of its window is 1 (outside pixels count as 0).
        sweep(&mask, width: width, height: height, radius: radius) { ones, _ in ones > 0 }
    }

    static func erode(_ mask: inout [UInt8], width: Int, height: Int, radius: Int) {
        // A pixel stays 1 when every pixel of its window inside the mask is 1 (outside pixels are neutral).
        sweep(&mask, width: width, height: height, radius: radius) { ones, inside in ones == inside }
    }

    /// One rows pass then one columns pass of a window of `2·radius + 1`; `keep(ones, inside)` decides each
    /// pixel from the count of ones in its window and the window's pixels inside the mask.
    private static func sweep(_ mask: inout [UInt8], width: Int, height: Int, radius: Int,
                              keep: (Int, Int) -> Bool) {
        var line = [UInt8]()
        for pass in 0..<2 {
            let (lines, length) = pass == 0 ? (height, width) : (width, height)
            let step = pass == 0 ? 1 : width
            line = [UInt8](repeating: 0, count: length)
            for l in 0..<lines {
                let first = pass == 0 ? l * width : l
                for i in 0..<length { line[i] = mask[first + i * step] }
                var ones = 0
                for i in 0..<min(radius, length) { ones += Int(line[i]) }
                for i in 0..<length {
                    if i + radius < length { ones += Int(line[i + radius]) }
                    if i - radius - 1 >= 0 { ones -= Int(line[i - radius - 1]) }
                    let inside = min(length - 1, i + radius) - max(0, i - radius) + 1
                    mask[first + i * step] = keep(ones, inside) ? 1 : 0
                }
            }
        }
    }

    /// Sets to 1 every 4-connected background region that does not touch the border and has at most `maxArea`
    /// pixels.
    static func fillHoles(_ mask: inout [UInt8], width: Int, height: Int, maxArea: Int) {
        guard maxArea > 0 else { return }
        precondition(mask.count <= Int(Int32.max), "mask too large for 32-bit indices")
        var visited = [Bool](repeating: false, count: mask.count)
        // A region's pixels are kept only while it may still be filled: the glass around the tissue is not.
        var region: [Int32] = [], stack: [Int32] = []
        for start in 0..<mask.count where mask[start] == 0 && !visited[start] {
            region.removeAll(keepingCapacity: true)
            var touchesBorder = false, area = 0
            stack.append(Int32(start))
            visited[start] = true
            while let popped = stack.popLast() {
                let index = Int(popped)
                area += 1
                if area <= maxArea { region.append(popped) }
                let x = index % width, y = index / width
                if x == 0 || y == 0 || x == width - 1 || y == height - 1 { touchesBorder = true }
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                where nx >= 0 && ny >= 0 && nx < width && ny < height {
                    let neighbour = ny * width + nx
                    if mask[neighbour] == 0 && !visited[neighbour] {
                        visited[neighbour] = true
                        stack.append(Int32(neighbour))
                    }
                }
            }
            if !touchesBorder && area <= maxArea {
                for index in region { mask[Int(index)] = 1 }
            }
        }
    }
}
