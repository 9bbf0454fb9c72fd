import ImageCodecs
import TensorKernels
import Testing

@Suite("PNG encoding round-trips through the decoder")
struct PNGEncoderTests {
    private func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    @Test("RGB round trip is exact", arguments: [(1, 1), (23, 17), (300, 2), (2, 300)], [0, 6, 9])
    func rgbRoundTrip(size: (Int, Int), level: Int) throws {
        let (width, height) = size
        let image = RGBImage(width: width, height: height, pixels: randomBytes(width * height * 3, seed: UInt64(width * 31 + height)))
        let png = try PNGEncoder.encode(image, compressionLevel: level)
        #expect(png.withUnsafeBytes { ImageFormat.sniff($0) } == .png)
        #expect(try ImageDecoder.decode(png) == image)
    }

    @Test func realTileRoundTrip() throws {
        let tile = try ImageDecoder.decode(try Fixtures.bytes("kather_patch.png"))
        #expect(try ImageDecoder.decode(try PNGEncoder.encode(tile)) == tile)
    }

    @Test func grayRoundTripReplicatesChannels() throws {
        let (width, height) = (23, 17)
        let gray = randomBytes(width * height, seed: 7)
        let decoded = try ImageDecoder.decode(try PNGEncoder.encodeGray(width: width, height: height, pixels: gray))
        #expect(decoded.width == width && decoded.height == height)
        #expect(decoded.pixels == gray.flatMap { [$0, $0, $0] })
    }

    @Test func higherCompressionIsNotLarger() throws {
        let smooth = RGBImage(width: 64, height: 64, pixels: (0..<64 * 64 * 3).map { UInt8($0 / 3 % 64) })
        let stored = try PNGEncoder.encode(smooth, compressionLevel: 0)
        let best = try PNGEncoder.encode(smooth, compressionLevel: 9)
        #expect(best.count < stored.count)
    }

    @Test func outOfRangeCompressionLevelIsClamped() throws {
        let image = RGBImage(width: 3, height: 2, pixels: randomBytes(18, seed: 3))
        for level in [-5, 42, Int.max, Int.min] {
            #expect(try ImageDecoder.decode(try PNGEncoder.encode(image, compressionLevel: level)) == image)
        }
    }

    @Test func invalidInputThrowsUnsupported() {
        func isUnsupportedPNG(_ body: () throws(ImageCodecError) -> [UInt8]) -> Bool {
            do {
                _ = try body()
                return false
            } catch {
                guard case .unsupported(.png, let reason) = error else { return false }
                return !reason.isEmpty
            }
        }
        #expect(isUnsupportedPNG { () throws(ImageCodecError) in try PNGEncoder.encode(RGBImage(width: 0, height: 0, pixels: [])) })
        #expect(isUnsupportedPNG { () throws(ImageCodecError) in try PNGEncoder.encodeGray(width: 4, height: 4, pixels: [1, 2, 3]) })
        #expect(isUnsupportedPNG { () throws(ImageCodecError) in try PNGEncoder.encodeGray(width: -4, height: -4, pixels: Array(repeating: 0, count: 16)) })
        #expect(isUnsupportedPNG { () throws(ImageCodecError) in try PNGEncoder.encodeGray(width: Int.max, height: 2, pixels: []) })
        #expect(isUnsupportedPNG { () throws(ImageCodecError) in try PNGEncoder.encodeGray(width: 1 << 40, height: 1, pixels: []) })
    }
}
