import ImageCodecs
import Testing

@Suite("Decoding fixtures matches the NumPy / Pillow reference")
struct DecodeFixtureTests {
    static let pngCases: [DecodeCase] = [
        .png("gray1.png"), .png("gray4.png"), .png("gray8.png"), .png("gray16.png"),
        .png("gray8_trns.png"), .png("gray_alpha8.png"), .png("gray_alpha16.png"),
        .png("palette4.png"), .png("palette8_trns.png"),
        .png("rgb8.png"), .png("rgb8_trns.png"), .png("rgb16_gama.png"),
        .png("rgba8.png"), .png("rgba16.png"),
        .png("rgb8_interlaced.png"), .png("rgba16_interlaced.png"),
        .png("kather_patch.png", 64, 64),
    ]

    static let jpegCases: [DecodeCase] = [
        .jpeg("rgb_baseline.jpg"), .jpeg("rgb_progressive.jpg"), .jpeg("gray.jpg"), .jpeg("cmyk.jpg"),
        .jpeg("kather_patch.jpg", 64, 64),
    ]

    @Test("PNG decodes exactly", arguments: pngCases)
    func pngDecodesExactly(_ fixture: DecodeCase) throws {
        let image = try ImageDecoder.decode(try Fixtures.bytes(fixture.file))
        #expect(image.width == fixture.width)
        #expect(image.height == fixture.height)
        let expected = try Fixtures.expectedRGB(for: fixture.file)
        try #require(image.pixels.count == expected.count)
        // Summarise instead of `pixels == expected`, which would print two 1000-element arrays.
        let mismatches = zip(image.pixels, expected).filter { $0 != $1 }.count
        #expect(mismatches == 0, "max |diff| \(maxAbsoluteDifference(image.pixels, expected))")
    }

    @Test("JPEG decodes within ±2 of Pillow", arguments: jpegCases)
    func jpegMatchesPillow(_ fixture: DecodeCase) throws {
        let image = try ImageDecoder.decode(try Fixtures.bytes(fixture.file))
        #expect(image.width == fixture.width)
        #expect(image.height == fixture.height)
        let expected = try Fixtures.expectedRGB(for: fixture.file)
        try #require(image.pixels.count == expected.count)
        #expect(maxAbsoluteDifference(image.pixels, expected) <= fixture.tolerance)
    }

    @Test func grayJPEGIsReplicatedToEqualChannels() throws {
        let image = try ImageDecoder.decode(try Fixtures.bytes("gray.jpg"))
        for pixel in stride(from: 0, to: image.pixels.count, by: 3) {
            #expect(image.pixels[pixel] == image.pixels[pixel + 1] && image.pixels[pixel] == image.pixels[pixel + 2])
        }
    }

    @Test func transparentPixelsBecomeWhite() throws {
        // The fixture generator makes the first 4 pixels of row 0 fully transparent.
        let image = try ImageDecoder.decode(try Fixtures.bytes("rgba16.png"))
        #expect(Array(image.pixels[0..<12]) == [UInt8](repeating: 255, count: 12))
    }

    @Test func rawBufferOverloadMatchesArrayOverload() throws {
        for file in ["rgb8.png", "rgb_baseline.jpg"] {
            let bytes = try Fixtures.bytes(file)
            let fromRaw = try bytes.withUnsafeBytes { try ImageDecoder.decode($0) }
            #expect(fromRaw == (try ImageDecoder.decode(bytes)))
        }
    }

    /// The shims keep no global state (error buffers and jmp_bufs are per call), so
    /// concurrent decodes, including failing ones, must not interfere.
    @Test func concurrentDecodesAreIndependent() async throws {
        let files = ["kather_patch.jpg", "kather_patch.png", "truncated.jpg", "bad_crc.png"]
        let inputs = try files.map { try Fixtures.bytes($0) }
        let reference = inputs.map { bytes in Result { () throws(ImageCodecError) in try ImageDecoder.decode(bytes) } }
        await withTaskGroup(of: (Int, Result<RGBImage, ImageCodecError>).self) { group in
            for task in 0..<32 {
                let which = task % inputs.count
                let bytes = inputs[which]
                group.addTask { (which, Result { () throws(ImageCodecError) in try ImageDecoder.decode(bytes) }) }
            }
            for await (which, result) in group {
                #expect(result == reference[which], "\(files[which])")
            }
        }
    }

    @Test func limitEqualToPixelCountIsAccepted() throws {
        let image = try ImageDecoder.decode(try Fixtures.bytes("rgb8.png"), limits: DecodeLimits(maxPixels: 23 * 17))
        #expect(image.width == 23 && image.height == 17)
    }

    @Test func sniffRecognisesMagicBytes() throws {
        func sniff(_ bytes: [UInt8]) -> ImageFormat? { bytes.withUnsafeBytes { ImageFormat.sniff($0) } }
        #expect(sniff(try Fixtures.bytes("gray8.png")) == .png)
        #expect(sniff(try Fixtures.bytes("cmyk.jpg")) == .jpeg)
        #expect(sniff(pngSignature) == .png)
        #expect(sniff([0xFF, 0xD8, 0xFF]) == .jpeg)
        #expect(sniff(Array(pngSignature.prefix(7))) == nil)
        #expect(sniff([0xFF, 0xD8]) == nil)
        #expect(sniff(Array("GIF89a".utf8)) == nil)
        #expect(sniff([]) == nil)
    }
}
