import ImageCodecs
import Testing

@Suite("Broken, hostile and over-limit input throws the right ImageCodecError")
struct DecodeErrorTests {
    /// Decodes and returns the typed error; records a failure if decoding succeeds.
    private func decodeError(_ bytes: [UInt8], limits: DecodeLimits = DecodeLimits(),
                             sourceLocation: SourceLocation = #_sourceLocation) -> ImageCodecError? {
        do {
            let image = try ImageDecoder.decode(bytes, limits: limits)
            Issue.record("expected an error, decoded \(image.width)×\(image.height)", sourceLocation: sourceLocation)
            return nil
        } catch {
            let text = error.description
            #expect(!text.isEmpty && !text.contains("\n"), "description must be one line: \(text)",
                    sourceLocation: sourceLocation)
            return error
        }
    }

    private func corruptReason(_ error: ImageCodecError?, _ format: ImageFormat) -> String? {
        guard case let .corrupt(actual, reason) = error, actual == format else { return nil }
        return reason
    }

    @Test func emptyInput() throws {
        #expect(decodeError([]) == .empty)
        #expect(throws: ImageCodecError.empty) { try [UInt8]().withUnsafeBytes { try ImageDecoder.decode($0) } }
    }

    @Test func unknownMagicIsUnsupportedFormat() {
        #expect(decodeError(Array("GIF89a\u{1}\u{0}\u{1}\u{0}".utf8)) == .unsupportedFormat)
        #expect(decodeError([0x42]) == .unsupportedFormat)
        #expect(decodeError(Array("BM this is a bitmap".utf8)) == .unsupportedFormat)
    }

    @Test func truncatedPNGIsCorrupt() throws {
        let reason = corruptReason(decodeError(try Fixtures.bytes("truncated.png")), .png)
        #expect(reason?.isEmpty == false, "got \(String(describing: reason))")
    }

    @Test func pngWithBadCRCIsCorruptWithLibpngMessage() throws {
        let reason = try #require(corruptReason(decodeError(try Fixtures.bytes("bad_crc.png")), .png))
        #expect(reason.contains("CRC"), "libpng's message: \(reason)")
    }

    @Test func pngMissingIENDIsCorrupt() throws {
        let complete = try Fixtures.bytes("rgb8.png")
        #expect(corruptReason(decodeError(Array(complete.dropLast(12))), .png) != nil)
    }

    @Test func pngWithInvalidIHDRIsCorrupt() {
        // Bit depth 3 does not exist; the CRC is valid, so libpng's IHDR check must catch it.
        let ihdr: [UInt8] = bigEndian(23) + bigEndian(17) + [3, 2, 0, 0, 0]
        let bytes = pngSignature + pngChunk("IHDR", ihdr) + pngChunk("IEND", [])
        #expect(corruptReason(decodeError(bytes), .png) != nil)
    }

    @Test func signatureOnlyIsCorrupt() {
        #expect(corruptReason(decodeError(pngSignature), .png) != nil)
        #expect(corruptReason(decodeError([0xFF, 0xD8, 0xFF]), .jpeg) != nil)
    }

    @Test func truncatedJPEGIsCorruptNotGreyPadded() throws {
        let reason = try #require(corruptReason(decodeError(try Fixtures.bytes("truncated.jpg")), .jpeg))
        #expect(reason.contains("Premature end of JPEG file"), "libjpeg's message: \(reason)")
    }

    @Test func jpegMissingOnlyEOIIsCorrupt() throws {
        let complete = try Fixtures.bytes("rgb_baseline.jpg")
        #expect(corruptReason(decodeError(Array(complete.dropLast(2))), .jpeg) != nil)
    }

    @Test func pngBombIsRefusedFromHeader() throws {
        let error = decodeError(try Fixtures.bytes("bomb_5000x5000.png"))
        #expect(error == .tooLarge(width: 5000, height: 5000, maxPixels: 4096 * 4096))
        #expect(error?.description == "image is 5000×5000 = 25000000 pixels, more than the limit of 16777216")
    }

    @Test func jpegBombIsRefusedFromHeader() throws {
        let error = decodeError(try Fixtures.bytes("bomb_5000x5000.jpg"))
        #expect(error == .tooLarge(width: 5000, height: 5000, maxPixels: 4096 * 4096))
    }

    @Test func hugeDeclaredPNGCostsNoMemory() {
        // 100000×100000 RGBA would be 40 GB; the header alone must be enough to refuse it,
        // including when one side alone exceeds the limit (libpng's user limits trip first).
        for (width, height) in [(100_000, 100_000), (100_000_000, 1), (1, 2_000_000_000)] {
            let ihdr = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 6, 0, 0, 0]
            let bytes = pngSignature + pngChunk("IHDR", ihdr) + pngChunk("IEND", [])
            #expect(decodeError(bytes) == .tooLarge(width: width, height: height, maxPixels: 4096 * 4096))
        }
    }

    @Test("23×17 with maxPixels 100 is too large", arguments: ["rgb8.png", "rgb8_interlaced.png", "rgb_baseline.jpg", "cmyk.jpg"])
    func smallLimitRefusesSmallImage(_ file: String) throws {
        let limits = DecodeLimits(maxPixels: 100)
        #expect(decodeError(try Fixtures.bytes(file), limits: limits) == .tooLarge(width: 23, height: 17, maxPixels: 100))
    }

    @Test func zeroOrNegativeLimitRefusesEverything() throws {
        for maxPixels in [0, -1] {
            let error = decodeError(try Fixtures.bytes("gray8.png"), limits: DecodeLimits(maxPixels: maxPixels))
            #expect(error == .tooLarge(width: 23, height: 17, maxPixels: maxPixels))
        }
    }

    @Test func descriptionsAreReadableSingleLines() {
        let cases: [(ImageCodecError, String)] = [
            (.empty, "image data is empty"),
            (.unsupportedFormat, "image data is neither PNG nor JPEG (unrecognised magic bytes)"),
            (.tooLarge(width: 5000, height: 5000, maxPixels: 16_777_216),
             "image is 5000×5000 = 25000000 pixels, more than the limit of 16777216"),
            (.corrupt(format: .png, reason: "IDAT: CRC error"), "PNG is corrupt or truncated: IDAT: CRC error"),
            (.corrupt(format: .jpeg, reason: "line one\nline two"), "JPEG is corrupt or truncated: line one line two"),
            (.unsupported(format: .jpeg, reason: ""), "JPEG is not supported: unknown error"),
        ]
        for (error, text) in cases {
            #expect(error.description == text)
        }
    }
}
