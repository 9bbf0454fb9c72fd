import Testing
@testable import ImageCodecs

/// `DecodeLimits.requiredSize` and `maxJPEGScans`: a caller that can use only one size must
/// not pay for decoding any other (a 4096² PNG used to be decoded in full, 64 MiB, before the
/// service's 150×150 check; a 500-scan progressive JPEG cost seconds of CPU).
@Suite("Required size and JPEG scan cap are checked before decoding")
struct RequiredSizeTests {
    static let patchOnly = DecodeLimits.exactly(width: 150, height: 150)

    private func error(_ bytes: [UInt8], _ limits: DecodeLimits) -> ImageCodecError? {
        do {
            let image = try ImageDecoder.decode(bytes, limits: limits)
            Issue.record("expected an error, decoded \(image.width)×\(image.height)")
            return nil
        } catch { return error }
    }

    @Test("a 4096² PNG is refused from its IHDR: libpng never starts")
    func bigPNGRefusedUnread() throws {
        let png = try PNGEncoder.encodeGray(width: 4096, height: 4096, pixels: [UInt8](repeating: 0, count: 4096 * 4096),
                                            compressionLevel: 9)
        #expect(png.count < 32 * 1024)
        var libraryPeakBytes = -1
        #expect(throws: ImageCodecError.wrongSize(width: 4096, height: 4096, required: ImageSize(width: 150, height: 150))) {
            try png.withUnsafeBytes { try PNGDecoder.decode($0, limits: Self.patchOnly, libraryPeakBytes: &libraryPeakBytes) }
        }
        #expect(libraryPeakBytes == 0, "libpng allocated \(libraryPeakBytes) bytes")
    }

    @Test("wrong size wins over too large, for PNG and JPEG", arguments: ["bomb_5000x5000.png", "bomb_5000x5000.jpg"])
    func wrongSizeBeforeTooLarge(_ file: String) throws {
        let refused = error(try Fixtures.bytes(file), Self.patchOnly)
        #expect(refused == .wrongSize(width: 5000, height: 5000, required: ImageSize(width: 150, height: 150)))
        #expect(refused?.description == "150×150 required, image is 5000×5000")
    }

    @Test("the required size decodes as without one; transposed or impossible sizes are refused",
          arguments: ["rgb8.png", "rgb8_interlaced.png", "rgb_baseline.jpg", "rgb_progressive.jpg", "cmyk.jpg"])
    func exactSize(_ file: String) throws {
        let bytes = try Fixtures.bytes(file)
        #expect(try ImageDecoder.decode(bytes, limits: .exactly(width: 23, height: 17)) == (try ImageDecoder.decode(bytes)))
        for (width, height) in [(17, 23), (23, 18), (0, 0), (-23, 17), (Int.max, 17)] {
            let required = ImageSize(width: width, height: height)
            #expect(error(bytes, .exactly(width: width, height: height)) == .wrongSize(width: 23, height: 17, required: required))
        }
    }

    /// `rgb_progressive.jpg` (10 scans) with its last scan repeated: libjpeg decodes the extra
    /// refinement scans (a bogus-progression warning, which we tolerate), like a crafted bomb.
    static func progressive(extraScans: Int) throws -> [UInt8] {
        let jpeg = try Fixtures.bytes("rgb_progressive.jpg")
        // Markers in entropy data are byte-stuffed (FF 00), so FF DA is always a scan header.
        let lastScan = try #require((0..<jpeg.count - 1).last { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xDA })
        #expect(Array(jpeg.suffix(2)) == [0xFF, 0xD9])
        let scan = jpeg[lastScan..<(jpeg.count - 2)]
        return Array(jpeg.dropLast(2)) + Array(repeating: scan, count: extraScans).joined() + [0xFF, 0xD9]
    }

    @Test("more scans than maxJPEGScans (default 32) are refused; up to it they decode")
    func scanCap() throws {
        let bomb = try Self.progressive(extraScans: 30)  // 40 scans
        guard case let .corrupt(.jpeg, reason) = error(bomb, DecodeLimits()) else {
            Issue.record("40 scans must be refused by the default limits"); return
        }
        #expect(reason == "JPEG has more than 32 scans")
        #expect(throws: Never.self) { try ImageDecoder.decode(bomb, limits: DecodeLimits(maxJPEGScans: 40)) }

        let original = try Fixtures.bytes("rgb_progressive.jpg")
        #expect(throws: Never.self) { try ImageDecoder.decode(original, limits: DecodeLimits(maxJPEGScans: 10)) }
        #expect(error(original, DecodeLimits(maxJPEGScans: 9)) == .corrupt(format: .jpeg, reason: "JPEG has more than 9 scans"))
        #expect(throws: Never.self) { try ImageDecoder.decode(try Fixtures.bytes("rgb_baseline.jpg"), limits: DecodeLimits(maxJPEGScans: 1)) }
        for none in [0, -1] {
            #expect(error(try Fixtures.bytes("rgb_baseline.jpg"), DecodeLimits(maxJPEGScans: none))
                    == .corrupt(format: .jpeg, reason: "JPEG has more than 0 scans"))
        }
    }

    @Test("a wrong-size many-scan JPEG is refused for its size, before any scan")
    func sizeBeforeScans() throws {
        let bomb = try Self.progressive(extraScans: 1000)
        #expect(error(bomb, Self.patchOnly) == .wrongSize(width: 23, height: 17, required: ImageSize(width: 150, height: 150)))
    }

    @Test func defaultsAreUnchangedButTheScanCap() {
        #expect(DecodeLimits() == DecodeLimits(maxPixels: 4096 * 4096, requiredSize: nil, maxJPEGScans: 32))
        #expect(DecodeLimits.exactly(width: 150, height: 150).maxPixels == DecodeLimits().maxPixels)
    }
}
