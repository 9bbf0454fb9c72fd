import TensorKernels

/// One worker's buffers for forward passes: every activation of the network for a batch of up to `capacity`
/// images, in one allocation, plus the im2col/col2im scratch. Grown when a larger batch arrives, reused
/// otherwise, so steady-state inference allocates nothing. Not thread-safe: one per thread.
public final class Workspace {
    /// Pointers into the arena; shapes are `(C, N, H, W)` with `N` the current capacity.
    struct Activations {
        var x, f1, f2, f3, z, cat1, d1, cat2, d2, cat3, d3, u4, r, y, pooled: UnsafeMutablePointer<Float>
    }

    /// Floats per image of each buffer, in the order of ``Activations``.
    static let perImage: [Int] = [
        3 * 150 * 150,        // x     (3, N, 150, 150)   input, channel-major
        64 * 75 * 75,         // f1    (64, N, 75, 75)    enc1 (skip for D3)
        128 * 38 * 38,        // f2    (128, N, 38, 38)   enc2 (skip for D2)
        256 * 19 * 19,        // f3    (256, N, 19, 19)   enc3 (skip for D1)
        256 * 10 * 10,        // z     (256, N, 10, 10)   bottleneck
        512 * 20 * 20,        // cat1  (512, N, 20, 20)   [up1; resize(f3)]
        256 * 20 * 20,        // d1    (256, N, 20, 20)
        256 * 40 * 40,        // cat2  (256, N, 40, 40)   [up2; resize(f2)]
        128 * 40 * 40,        // d2    (128, N, 40, 40)
        128 * 80 * 80,        // cat3  (128, N, 80, 80)   [up3; resize(f1)]
        64 * 80 * 80,         // d3    (64, N, 80, 80)
        32 * 160 * 160,       // u4    (32, N, 160, 160)
        3 * 160 * 160,        // r     (3, N, 160, 160)   tanh(head(u4))
        3 * 150 * 150,        // y     (3, N, 150, 150)   resized output, channel-major
        2 * 256,              // pooled (2, C ≤ 256, N)  channel attention's sums and maxima (docs/model.md §8)
    ]

    private var arena: UnsafeMutablePointer<Float>?
    public private(set) var capacity = 0
    var scratch: ScratchBuffer
    private var pointers: Activations?

    /// - Parameter capacity: images to allocate for up front (0: on first use).
    public init(capacity: Int = 0) {
        scratch = ScratchBuffer()
        if capacity > 0 { _ = activations(batch: capacity) }
    }

    deinit { arena?.deallocate() }

    /// Cores one forward pass may split its loops and GEMMs across (1: everything on the calling thread). More
    /// than 1 only for a pass that runs alone on the machine — a lone patch on an idle server — since
    /// independent single-threaded passes side by side make better use of the cores. The result is the same
    /// either way (every output element is summed in the same order).
    public var threads: Int {
        get { scratch.threads }
        set { scratch.threads = max(1, newValue) }
    }

    func activations(batch: Int) -> Activations {
        if batch > capacity || pointers == nil {
            arena?.deallocate()
            let total = Self.perImage.reduce(0, +) * batch
            let base = UnsafeMutablePointer<Float>.allocate(capacity: total)
            base.initialize(repeating: 0, count: total)
            arena = base
            capacity = batch
            var offset = 0
            let p = Self.perImage.map { size -> UnsafeMutablePointer<Float> in
                defer { offset += size * batch }
                return base + offset
            }
            pointers = Activations(x: p[0], f1: p[1], f2: p[2], f3: p[3], z: p[4], cat1: p[5], d1: p[6],
                                   cat2: p[7], d2: p[8], cat3: p[9], d3: p[10], u4: p[11], r: p[12], y: p[13],
                                   pooled: p[14])
        }
        return pointers!
    }
}
