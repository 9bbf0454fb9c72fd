/// CNNAutoencoder_3's channel table (docs/model.md §10 "Encoder" and §11 "Decoder"): the one place the model
/// (``CNNAutoencoder3``) and the weight-file contract (``StateDictContract``) read it, in the reference
/// module's order and with its names.
enum Architecture {
    /// enc1…enc4: 3×3 stride-2 convolution + BatchNorm + GELU, channel attention on all but the bottleneck.
    static let encoder: [(name: String, inChannels: Int, outChannels: Int, attention: Bool)] = [
        ("enc1", 3, 64, true), ("enc2", 64, 128, true), ("enc3", 128, 256, true), ("enc4", 256, 256, false),
    ]
    /// up1…up4: 3×3 stride-2 transposed convolutions, weight `(C_in, C_out, 3, 3)`.
    static let upsamplers: [(name: String, inChannels: Int, outChannels: Int)] = [
        ("up1", 256, 256), ("up2", 256, 128), ("up3", 128, 64), ("up4", 64, 32),
    ]
    /// fuse1…fuse3: 3×3 convolution + BatchNorm + GELU over `[upsampled; resized skip]`.
    static let fuses: [(name: String, inChannels: Int, outChannels: Int)] = [
        ("fuse1", 512, 256), ("fuse2", 256, 128), ("fuse3", 128, 64),
    ]
    /// The output convolution, followed by tanh.
    static let head = (name: "head", inChannels: 32, outChannels: 3)
}
