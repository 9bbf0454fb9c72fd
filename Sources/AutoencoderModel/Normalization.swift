import ImageCodecs
import TensorKernels

/// Input normalization (docs/model.md §3): `y = (x/255 − 0.5)/0.5`, mapping 8-bit RGB to [−1, 1], and its inverse.
public enum Normalization {
    /// Writes one image as `(3, H, W)` normalized floats (PyTorch's ToTensor + Normalize(0.5, 0.5)).
    public static func normalize(_ image: RGBImage, into destination: UnsafeMutablePointer<Float>) {
        let plane = image.width * image.height
        image.pixels.withUnsafeBufferPointer { rgb in
            for i in 0..<plane {
                for c in 0..<3 {
                    destination[c &* plane &+ i] = (Float(rgb[i &* 3 &+ c]) / 255 - 0.5) / 0.5
                }
            }
        }
    }

    /// A batch of equally sized images as `(N, 3, H, W)`.
    public static func batch(_ images: [RGBImage]) -> Tensor {
        guard let first = images.first else { return Tensor(zeros: [0, 3, 0, 0]) }
        let plane = first.width * first.height
        var tensor = Tensor(zeros: [images.count, 3, first.height, first.width])
        tensor.values.withUnsafeMutableBufferPointer { out in
            for (n, image) in images.enumerated() {
                precondition(image.width == first.width && image.height == first.height)
                normalize(image, into: out.baseAddress! + n * 3 * plane)
            }
        }
        return tensor
    }

    /// Back to 8-bit RGB: `x = round((y·0.5 + 0.5)·255)`, clamped to [0, 255].
    /// - Parameter source: `(3, H, W)`.
    public static func denormalize(_ source: UnsafePointer<Float>, width: Int, height: Int) -> RGBImage {
        let plane = width * height
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        pixels.withUnsafeMutableBufferPointer { rgb in
            for i in 0..<plane {
                for c in 0..<3 {
                    let value = ((source[c &* plane &+ i] * 0.5 + 0.5) * 255).rounded()
                    rgb[i &* 3 &+ c] = UInt8(min(255, max(0, value)))
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
