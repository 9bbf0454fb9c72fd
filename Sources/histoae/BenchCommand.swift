import ArgumentParser
import AutoencoderModel
import Foundation
import TensorKernels

/// `histoae bench`: forward passes for a few seconds on one thread layout; prints images/s and GFLOP/s.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the forward pass: images/s and GFLOP/s (4.26 GFLOP per image).")

    @Option(help: "Model folder or .safetensors file (default: the default model, else seeded random weights; speed does not depend on values).")
    var model: String?

    @Option(help: "Patches per forward pass.")
    var batch: Int = 8

    @Option(help: "Seconds to measure, after one warm-up pass.")
    var seconds: Double = 5

    @Flag(help: "Also print the time spent in each block: the fastest of several passes, single-threaded (at batch 1: split across --threads, as the engine runs it).")
    var layers = false

    @Option(name: .customLong("micro-batch"), help: "Images per forward pass inside a worker (the engine's default: 2; the server runs 1).")
    var microBatch: Int = 2

    @Option(name: .customLong("sgemm"), help: "Instead of the model: time OpenBLAS sgemm on N×N×N matrices with --threads threads and print its GFLOP/s (the machine's practical peak for im2col+GEMM).")
    var sgemmSize: Int?

    @OptionGroup var threading: ThreadOptions

    func validate() throws {
        if let sgemmSize { guard (64...8192).contains(sgemmSize) else { throw ValidationError("--sgemm must be in 64...8192, got \(sgemmSize)") } }
        guard batch >= 1 && batch <= 256 else { throw ValidationError("--batch must be between 1 and 256, got \(batch)") }
        guard seconds > 0 && seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600]") }
    }

    func run() throws {
        if let sgemmSize { return timeSGEMM(size: sgemmSize) }
        let network: CNNAutoencoder3
        let source: String
        if let url = ModelLocator.resolve(model) {
            do { network = try ModelBundle.load(url).model } catch { throw CLIError(error.description) }
            source = url.path
        } else {
            network = try! CNNAutoencoder3(stateDict: RandomWeights.stateDict(seed: 0))
            source = "random weights (seed 0)"
        }
        var generator = SplitMix64(seed: 1)
        let input = Tensor(shape: [batch, 3, 150, 150],
                           values: (0..<(batch * 3 * 150 * 150)).map { _ in generator.nextUniform() * 2 - 1 })
        var output = Tensor(zeros: input.shape)
        var layout = threading.layout
        layout.microBatch = max(1, microBatch)
        let engine = InferenceEngine(model: network, layout: layout)
        var passes = 0
        let clock = ContinuousClock()
        var elapsed = Duration.zero
        input.values.withUnsafeBufferPointer { x in
            output.values.withUnsafeMutableBufferPointer { y in
                engine.forward(input: x.baseAddress!, count: batch, output: y.baseAddress!)
                let start = clock.now
                repeat {
                    engine.forward(input: x.baseAddress!, count: batch, output: y.baseAddress!)
                    passes += 1
                    elapsed = clock.now - start
                } while elapsed < .milliseconds(Int64(seconds * 1000))
            }
        }
        let wall = Self.seconds(elapsed)
        let imagesPerSecond = Double(passes * batch) / wall
        let gflops = imagesPerSecond * CNNAutoencoder3.flopsPerImage / 1e9
        print(String(format: "%.1f images/s  %.1f GFLOP/s  %.2f ms/image  (batch %d, %@, %d passes in %.1f s)",
                     imagesPerSecond, gflops, 1000 / imagesPerSecond, batch, layout.description as NSString, passes, wall))
        print("weights: \(source); GEMM: \(PackedWeights.kernelDescription)")
        if layers {
            let workspace = Workspace()
            workspace.threads = batch == 1 ? threading.threads : 1
            printLayerTimes(network, input: input, workspace: workspace)
        }
    }

    /// Milliseconds from one block's output to the next, for one pass over the batch.
    /// `C = A·B` on `size`² matrices, OpenBLAS with `--threads` threads, for `--seconds`: 2·size³ flops per call.
    func timeSGEMM(size: Int) {
        BLAS.setThreads(threading.threads)
        var generator = SplitMix64(seed: 2)
        let a = (0..<(size * size)).map { _ in generator.nextUniform() }
        let b = (0..<(size * size)).map { _ in generator.nextUniform() }
        let c = UnsafeMutablePointer<Float>.allocate(capacity: size * size)
        c.initialize(repeating: 0, count: size * size)
        defer { c.deallocate() }
        var calls = 0
        let clock = ContinuousClock()
        var elapsed = Duration.zero
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                let call = {
                    BLAS.sgemm(m: size, n: size, k: size, a: a.baseAddress!, lda: size, b: b.baseAddress!, ldb: size,
                               c: c, ldc: size)
                }
                call()
                let start = clock.now
                repeat {
                    call()
                    calls += 1
                    elapsed = clock.now - start
                } while elapsed < .milliseconds(Int64(seconds * 1000))
            }
        }
        let wall = Self.seconds(elapsed)
        let gflops = 2 * Double(size) * Double(size) * Double(size) * Double(calls) / wall / 1e9
        print(String(format: "sgemm %d×%d×%d: %.1f GFLOP/s  (%d threads, %d calls in %.1f s)", size, size, size, gflops,
                     threading.threads, calls, wall))
        print("OpenBLAS: \(BLAS.configuration)")
    }

    /// Milliseconds from one block's output to the next: the fastest of several passes over the batch (at least
    /// 5, for about `--seconds`) on `workspace.threads` threads, so a noisy neighbour's pause does not land on one
    /// block.
    func printLayerTimes(_ network: CNNAutoencoder3, input: Tensor, workspace: Workspace) {
        var output = Tensor(zeros: input.shape)
        let clock = ContinuousClock()
        var fastest: [CNNAutoencoder3.Block: Double] = [:]
        var passes = 0
        let started = clock.now
        input.values.withUnsafeBufferPointer { x in
            output.values.withUnsafeMutableBufferPointer { y in
                repeat {
                    var last = clock.now
                    network.forward(input: x.baseAddress!, count: batch, output: y.baseAddress!, workspace: workspace) { block, _, _ in
                        let now = clock.now
                        let ms = Self.seconds(now - last) * 1000
                        fastest[block] = min(fastest[block] ?? .infinity, ms)
                        last = now
                    }
                    passes += 1
                } while passes < 5 || Self.seconds(clock.now - started) < seconds
            }
        }
        let total = fastest.values.reduce(0, +)
        print(String(format: "per block, fastest of %d passes of batch %d on %d thread(s):", passes, batch,
                     workspace.threads))
        for block in CNNAutoencoder3.Block.allCases {
            let ms = fastest[block] ?? 0
            print(String(format: "  %-7@ %8.2f ms  %5.1f%%", block.rawValue as NSString, ms / Double(batch), 100 * ms / total) + " (per image)")
        }
        print(String(format: "  %-7@ %8.2f ms", "total" as NSString, total / Double(batch)) + " (per image)")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
