import AutoencoderModel
import ImageCodecs

/// Turns the bytes of an uploaded or read patch into the engine's input: a PNG/JPEG decoded to 8-bit RGB
/// and checked to be the model's 150 × 150. Every caller (the server, `histoae score`, `histoae reconstruct`)
/// decodes through here, so they refuse the same files with the same reasons.
///
/// ```swift
/// let image = try PatchDecoding.decode(bytes, limits: PatchDecoding.patchOnly)   // the server
/// let image = try PatchDecoding.decode(bytes, limits: DecodeLimits(maxPixels: 4096 * 4096))   // the CLI
/// ```
public enum PatchDecoding {
    public static let side = CNNAutoencoder3.inputSize
    /// Decodes nothing but 150 × 150 images: the size is read from the header before any pixel is decoded.
    public static let patchOnly = DecodeLimits.exactly(width: side, height: side)

    public static func decode(_ bytes: UnsafeRawBufferPointer, limits: DecodeLimits) throws(PatchDecodingError) -> RGBImage {
        let image: RGBImage
        do { image = try ImageDecoder.decode(bytes, limits: limits) } catch {
            if case let .wrongSize(width, height, _) = error { throw .wrongSize(width: width, height: height) }
            throw .undecodable(error)
        }
        guard image.width == side && image.height == side else {
            throw .wrongSize(width: image.width, height: image.height)
        }
        return image
    }

    public static func decode(_ bytes: [UInt8], limits: DecodeLimits) throws(PatchDecodingError) -> RGBImage {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(PatchDecodingError) -> RGBImage in try decode(raw, limits: limits) }
        }
        return try result.get()
    }
}

/// Why bytes are not a patch; `description` is one readable line.
public enum PatchDecodingError: Error, CustomStringConvertible {
    /// A readable image of another size.
    case wrongSize(width: Int, height: Int)
    /// Not a PNG/JPEG the decoders accept (corrupt, truncated, over a limit, unsupported).
    case undecodable(ImageCodecError)

    public var description: String {
        switch self {
        case let .wrongSize(width, height):
            "image is \(width)×\(height), expected \(PatchDecoding.side)×\(PatchDecoding.side)"
        case .undecodable(let error): error.description
        }
    }
}
