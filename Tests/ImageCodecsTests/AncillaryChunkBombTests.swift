import Testing
@testable import ImageCodecs

/// Regression for the ancillary-chunk blow-up: libpng used to inflate every zTXt/iTXt chunk
/// (up to chunk_malloc_max each) and keep all the texts until the decoder was destroyed, so a
/// 2.6 MB upload of a valid 150×150 PNG made libpng hold ~400 MiB. A patch needs none of those chunks.
@Suite("PNG text and unknown chunks cost nothing")
struct AncillaryChunkBombTests {
    /// A zlib stream that inflates to 4 194 049 × "A" (≈4 MiB of text, no NUL to cut it short) in ≈26 KiB:
    /// one fixed-Huffman deflate block, the literal "A" then 16 256 copies of (length 258, distance 1).
    static let zlibBomb: [UInt8] = {
        let matches = 16_256
        var writer = BitWriter()
        writer.write(0b1, count: 1)                     // BFINAL
        writer.write(0b01, count: 2)                    // BTYPE = fixed Huffman
        writer.writeHuffman(0x30 + 0x41, count: 8)      // literal "A" (codes 0x30… for 0–143)
        for _ in 0..<matches {
            writer.writeHuffman(0xC0 + 5, count: 8)     // length code 285 = 258, no extra bits
            writer.writeHuffman(0, count: 5)            // distance code 0 = 1, no extra bits
        }
        writer.writeHuffman(0, count: 7)                // end of block (256)
        // Adler-32 of the inflated text, big-endian.
        var (a, b): (UInt32, UInt32) = (1, 0)
        for _ in 0..<(1 + 258 * matches) {
            a = (a + 0x41) % 65521
            b = (b + a) % 65521
        }
        return [0x78, 0x01] + writer.bytes + bigEndian(b << 16 | a)
    }()

    /// Deflate's bit order: fields LSB first, Huffman codes MSB first.
    struct BitWriter {
        var bytes: [UInt8] = []
        private var bitCount = 0

        mutating func write(_ value: UInt32, count: Int) {
            for i in 0..<count { append(bit: (value >> i) & 1) }
        }

        mutating func writeHuffman(_ code: UInt32, count: Int) {
            for i in (0..<count).reversed() { append(bit: (code >> i) & 1) }
        }

        private mutating func append(bit: UInt32) {
            if bitCount % 8 == 0 { bytes.append(0) }
            bytes[bytes.count - 1] |= UInt8(bit) << (bitCount % 8)
            bitCount += 1
        }
    }

    /// The chunks of a PNG (after the signature), each as (type, data).
    static func pngChunks(_ png: [UInt8]) -> [(type: String, data: [UInt8])] {
        var chunks: [(type: String, data: [UInt8])] = []
        var offset = 8
        while offset + 12 <= png.count {
            let length = png[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: png[offset + 4..<offset + 8], as: UTF8.self)
            chunks.append((type, Array(png[offset + 8..<offset + 8 + length])))
            offset += 12 + length
        }
        return chunks
    }

    static func patch() throws -> RGBImage {
        let pixels = (0..<150 * 150 * 3).map { UInt8(truncatingIfNeeded: $0 &* 7 ^ $0 >> 5) }
        return RGBImage(width: 150, height: 150, pixels: pixels)
    }

    /// `patch` with `before` chunks inserted after IHDR and `after` chunks before IEND.
    static func png(_ patch: RGBImage, before: [[UInt8]], after: [[UInt8]]) throws -> [UInt8] {
        let chunks = pngChunks(try PNGEncoder.encode(patch))
        var out = pngSignature
        for chunk in chunks {
            if chunk.type == "IEND" { out += after.joined() }
            out += pngChunk(chunk.type, chunk.data)
            if chunk.type == "IHDR" { out += before.joined() }
        }
        return out
    }

    @Test("100 zTXt/iTXt zlib bombs (≈400 MiB of text) decode with libpng under 1 MiB")
    func textBombs() throws {
        #expect(Self.zlibBomb.count < 32 * 1024, "bomb stream is \(Self.zlibBomb.count) bytes")
        let zTXt = pngChunk("zTXt", Array("Comment".utf8) + [0, 0] + Self.zlibBomb)
        // iTXt: keyword\0, compressed, method 0, language\0, translated keyword\0, zlib text.
        let iTXt = pngChunk("iTXt", Array("XML:com.adobe.xmp".utf8) + [0, 1, 0] + Array("en".utf8) + [0, 0] + Self.zlibBomb)
        let patch = try Self.patch()
        let bytes = try Self.png(patch, before: Array(repeating: zTXt, count: 50) + Array(repeating: iTXt, count: 25),
                                 after: Array(repeating: zTXt, count: 25))
        #expect(bytes.count < 3_000_000)

        var libraryPeakBytes = 0
        let decoded = try bytes.withUnsafeBytes {
            try PNGDecoder.decode($0, limits: .exactly(width: 150, height: 150), libraryPeakBytes: &libraryPeakBytes)
        }
        #expect(decoded == patch)
        #expect(libraryPeakBytes > 0 && libraryPeakBytes < 1 << 20, "libpng held \(libraryPeakBytes) bytes at once")
    }

    @Test("iCCP, eXIf, sPLT and private chunks are skipped, tRNS still applies")
    func otherAncillaryChunks() throws {
        let patch = try Self.patch()
        let iCCP = pngChunk("iCCP", Array("icc".utf8) + [0, 0] + Self.zlibBomb)
        let eXIf = pngChunk("eXIf", Array("MM\u{0}*".utf8) + [UInt8](repeating: 0, count: 60_000))
        let sPLT = pngChunk("sPLT", Array("p".utf8) + [0, 8] + [UInt8](repeating: 1, count: 6 * 10_000))
        let privateChunk = pngChunk("prVt", [UInt8](repeating: 0xAB, count: 500_000))
        let bytes = try Self.png(patch, before: [iCCP, eXIf, sPLT] + Array(repeating: privateChunk, count: 4), after: [])
        var libraryPeakBytes = 0
        let decoded = try bytes.withUnsafeBytes {
            try PNGDecoder.decode($0, limits: DecodeLimits(), libraryPeakBytes: &libraryPeakBytes)
        }
        #expect(decoded == patch)
        #expect(libraryPeakBytes < 1 << 20, "libpng held \(libraryPeakBytes) bytes at once")

        // tRNS is the one ancillary chunk a patch's pixels depend on: still honoured.
        let transparent = try Fixtures.bytes("rgb8_trns.png")
        #expect(try ImageDecoder.decode(transparent).pixels == (try Fixtures.expectedRGB(for: "rgb8_trns.png")))
    }

    @Test("a chunk of several MiB is skipped, not buffered")
    func oversizedChunk() throws {
        let patch = try Self.patch()
        let huge = pngChunk("prVt", [UInt8](repeating: 0, count: 4 << 20))
        let bytes = try Self.png(patch, before: [huge], after: [huge])
        var libraryPeakBytes = 0
        let decoded = try bytes.withUnsafeBytes {
            try PNGDecoder.decode($0, limits: DecodeLimits(), libraryPeakBytes: &libraryPeakBytes)
        }
        #expect(decoded == patch)
        #expect(libraryPeakBytes < 1 << 20, "libpng held \(libraryPeakBytes) bytes at once")
    }
}
