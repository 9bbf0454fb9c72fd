import ImageCodecs
import TensorKernels
import Testing

/// Seeded truncations and byte flips of valid files: every mutant must either decode to a
/// consistent image or throw an ImageCodecError with a one-line description. A crash,
/// exit() or hang in libpng/libjpeg would take the test process down and fail the run.
@Suite("Mutated files never crash the decoders")
struct MutationFuzzTests {
    static let mutationsPerFile = 200

    private enum Mutation: CaseIterable {
        case truncate, flipBytes, flipThenTruncate
    }

    private func mutate(_ original: [UInt8], using rng: inout SplitMix64, repairPNGCRCs: Bool) -> [UInt8] {
        var bytes = original
        let mutation = Mutation.allCases.randomElement(using: &rng)!
        if mutation != .truncate {
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                // Skip the magic so most mutants reach the library instead of .unsupportedFormat.
                let index = Int.random(in: 8..<bytes.count, using: &rng)
                bytes[index] ^= UInt8.random(in: 1...255, using: &rng)
            }
            if repairPNGCRCs { repairPNGChunkCRCs(&bytes) }
        }
        if mutation != .flipBytes {
            bytes.removeLast(Int.random(in: 1..<bytes.count, using: &rng))
        }
        return bytes
    }

    @Test("random mutants decode or throw", arguments: [
        ("rgb8.png", false), ("rgb8.png", true), ("rgba16_interlaced.png", true), ("palette8_trns.png", true),
        ("rgb_baseline.jpg", false), ("rgb_progressive.jpg", false), ("cmyk.jpg", false), ("gray.jpg", false),
    ])
    func mutantsNeverCrash(file: String, repairPNGCRCs: Bool) throws {
        let original = try Fixtures.bytes(file)
        // Stable per-case seed (String.hashValue is randomised per process).
        var rng = SplitMix64(seed: file.utf8.reduce(repairPNGCRCs ? 1 : 0) { $0 &* 31 &+ UInt64($1) })
        var decoded = 0, refused = 0
        for _ in 0..<Self.mutationsPerFile {
            let mutant = mutate(original, using: &rng, repairPNGCRCs: repairPNGCRCs)
            do {
                let image = try ImageDecoder.decode(mutant, limits: DecodeLimits(maxPixels: 1 << 20))
                #expect(image.pixels.count == image.width * image.height * 3)
                decoded += 1
            } catch {
                #expect(!error.description.isEmpty && !error.description.contains("\n"))
                refused += 1
            }
        }
        #expect(decoded + refused == Self.mutationsPerFile)
        // Every truncation must be refused, so a healthy fraction of mutants has to fail.
        #expect(refused > 0)
    }
}
