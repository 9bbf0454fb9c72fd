import ImageCodecs
import Testing
@testable import SlideReading

@Suite("RGBResampling: area average down, bilinear up")
struct RGBResamplingTests {
    static func gray(_ values: [UInt8], width: Int) -> RGBImage {
        RGBImage(width: width, height: values.count / width, pixels: values.flatMap { [$0, $0, $0] })
    }

    @Test("halving averages each 2 × 2 block")
    func halve() {
        let image = Self.gray([0, 100, 10, 20,
                               50, 50, 30, 40,
                               255, 255, 0, 0,
                               255, 255, 0, 4], width: 4)
        let half = RGBResampling.resize(image, width: 2, height: 2)
        #expect(half == Self.gray([50, 25, 255, 1], width: 2))
    }

    @Test("3 → 2 weighs the shared middle pixel by its overlap")
    func fractional() {
        let image = Self.gray([0, 90, 180], width: 3)
        // Output 0 covers [0, 1.5): (0 + 0.5·90)/1.5 = 30; output 1 covers [1.5, 3): (0.5·90 + 180)/1.5 = 150.
        #expect(RGBResampling.resize(image, width: 2, height: 1) == Self.gray([30, 150], width: 2))
    }

    @Test("enlarging interpolates between centres and clamps at the edges")
    func enlarge() {
        let image = Self.gray([0, 100], width: 2)
        // Centres at −0.25, 0.25, 0.75, 1.25 of the source: 0, 25, 75, 100.
        #expect(RGBResampling.resize(image, width: 4, height: 1) == Self.gray([0, 25, 75, 100], width: 4))
        let flat = RGBImage(width: 3, height: 3, pixels: [UInt8](repeating: 77, count: 27))
        #expect(RGBResampling.resize(flat, width: 7, height: 5).pixels.allSatisfy { $0 == 77 })
    }
}
