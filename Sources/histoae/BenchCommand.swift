import ArgumentParser
import AutoencoderModel
import Foundation
import ImageCodecs
import InferenceService
import Scoring

/// `histoae bench`: times what `histoae serve` runs — requests of decoded patches through the one
/// ``InferenceEngine``, normalized, reconstructed and scored on its workers, at the server's settings unless told
/// otherwise. Prints images/s, GFLOP/s, ms per image and the requests' latency.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the engine as the server runs it: images/s, GFLOP/s (4.26 GFLOP per image), request latency.",
        discussion: """
            --clients requests of --batch patches each are kept in flight, as that many HTTP clients would, for \
            --seconds after a warm-up. --batch 1 --clients 1 is one client alone (a lone patch runs on every \
            worker's core); --clients 32 is the load test's crowd. Random 150×150 RGB patches; the model's card \
            scores them (without a card: reconstruction only); --patch FILE times those files instead (the load \
            test passes the patches its clients upload: PNG decoding costs depend on the content). With --input \
            png (the default) each request's patches are PNG/JPEG bytes decoded through the same code as the \
            server's uploads before they are submitted, so the figure counts every step of /v1/score but HTTP.
            """)

    enum Detail: String, ExpressibleByArgument, CaseIterable { case score, full, reconstruction }
    enum Input: String, ExpressibleByArgument, CaseIterable { case png, pixels }

    @Option(help: "Model folder or .safetensors file (default: the default model, else seeded random weights; speed does not depend on values).")
    var model: String?

    @Option(help: "Patches per request.")
    var batch: Int = 8

    @Option(help: "Requests in flight at once (clients).")
    var clients: Int = 1

    @Option(help: "score: what /v1/score computes; full: also the reconstruction and error maps (/v1/reconstruct); reconstruction: the forward pass alone (how ONNX Runtime and PyTorch are timed in bench/compare_onnx.py).")
    var detail: Detail = .score

    @Option(help: "png: each request's patches are PNG bytes decoded as the server decodes uploads; pixels: already decoded.")
    var input: Input = .png

    @Option(name: .customLong("patch"), help: ArgumentHelp("A 150×150 PNG/JPEG patch to time instead of random ones (repeat for several: request k of client c starts at file c, cycling).", valueName: "file"))
    var patchFiles: [String] = []

    @Option(help: "Seconds to measure, after one warm-up request per client.")
    var seconds: Double = 5

    @Flag(help: "Also print the time spent in each block: the fastest of several passes of --batch images (at batch 1 split across --workers, as the engine runs a lone patch).")
    var layers = false

    @Option(name: .customLong("sgemm"), help: "Instead of the model: time OpenBLAS sgemm on N×N×N matrices on --workers threads and print its GFLOP/s (the machine's practical peak for im2col+GEMM).")
    var sgemmSize: Int?

    @Option(name: .customLong("micro-batch"), help: ArgumentHelp("Deprecated and ignored: every pass holds one image (EngineConfiguration.imagesPerPass).", visibility: .hidden))
    var microBatch: Int?

    @OptionGroup var engineOptions: EngineOptions

    @OptionGroup var precisionOptions: PrecisionOptions

    func validate() throws {
        if let sgemmSize { guard (64...8192).contains(sgemmSize) else { throw ValidationError("--sgemm must be in 64...8192, got \(sgemmSize)") } }
        guard batch >= 1 && batch <= 256 else { throw ValidationError("--batch must be between 1 and 256, got \(batch)") }
        guard (1...256).contains(clients) else { throw ValidationError("--clients must be between 1 and 256, got \(clients)") }
        guard seconds > 0 && seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600]") }
    }

    func run() throws {
        if microBatch != nil { FileHandle.standardError.write(Data("histoae: --micro-batch is deprecated and ignored\n".utf8)) }
        let configuration = engineOptions.configuration(queueCapacity: max(EngineConfiguration.defaultQueueCapacity, batch * clients))
        if let sgemmSize {
            let result = MachineProbe.sgemm(size: sgemmSize, threads: configuration.workers, seconds: seconds)
            print(String(format: "sgemm %d×%d×%d: %.1f GFLOP/s  (%d threads, %d calls in %.1f s)", sgemmSize, sgemmSize,
                         sgemmSize, result.gflops, configuration.workers, result.calls, result.seconds))
            print("OpenBLAS: \(MachineProbe.openBLASConfiguration)")
            return
        }
        let (network, card, source) = try loadModel()
        var scorer: PatchScorer?
        if let card { do { scorer = try PatchScorer(card: card) } catch { throw CLIError(error.description) } }
        let engine = InferenceEngine(model: network, scorer: scorer, configuration: configuration)
        engine.start()
        defer { engine.drainBlocking() }
        let requests = try makeRequests()
        let outputDetail: OutputDetail = switch (scorer, detail) {
        case (nil, _), (_, .reconstruction): .reconstruction
        case (_, .full): .full
        case (_, .score): .score
        }
        let timing = try Self.time(engine: engine, requests: requests, detail: outputDetail, clients: clients, seconds: seconds)

        let imagesPerSecond = Double(timing.requests * batch) / timing.wall
        let gflops = imagesPerSecond * CNNAutoencoder3.flopsPerImage / 1e9
        print(String(format: "%.1f images/s  %.1f GFLOP/s  %.2f ms/image  (batch %d, %d client%@, %d worker%@, %d requests in %.1f s)",
                     imagesPerSecond, gflops, 1000 / imagesPerSecond, batch, clients, clients == 1 ? "" : "s",
                     configuration.workers, configuration.workers == 1 ? "" : "s", timing.requests, timing.wall))
        print(String(format: "request latency: p50 %.2f ms, p99 %.2f ms, mean %.2f ms", timing.percentile(0.5) * 1000,
                     timing.percentile(0.99) * 1000, timing.latencies.reduce(0, +) / Double(timing.latencies.count) * 1000))
        print("weights: \(source); input: \(input.rawValue); computes: \(scorer == nil ? "reconstruction (no card)" : detail.rawValue); precision: \(network.precision); GEMM: \(network.precision.gemmDescription)")
        if layers { LayerTimes.print(network, batch: batch, threads: batch == 1 ? configuration.workers : 1, seconds: seconds) }
    }

    func loadModel() throws -> (CNNAutoencoder3, ModelCard?, String) {
        let precision = try precisionOptions.resolve()
        guard let url = ModelLocator.resolve(model) else {
            return (try! CNNAutoencoder3(stateDict: RandomWeights.stateDict(seed: 0), precision: precision), nil,
                    "random weights (seed 0)")
        }
        do {
            let bundle = try ModelBundle.load(url, precision: precision)
            return (bundle.model, bundle.card, url.path)
        } catch { throw CLIError(error.description) }
    }

    /// What one timed run measured: requests completed, their latencies (s) and the wall-clock seconds.
    struct Timing {
        var requests = 0
        var latencies: [Double] = []
        var wall = 0.0

        func percentile(_ p: Double) -> Double {
            let sorted = latencies.sorted()
            return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
        }
    }

    /// `clients` threads, each submitting `request` again as soon as its last one is answered, for `seconds`
    /// after one warm-up request each. Requests still running at the end are waited for and not counted.
    /// One request's patches: decoded, or PNG files each client decodes before every submission.
    enum Request: Sendable {
        case decoded([PatchInput])
        case png([[UInt8]])

        /// The engine's inputs, or why a file did not decode.
        func inputs() -> Result<[PatchInput], ServiceError> {
            switch self {
            case .decoded(let inputs): return .success(inputs)
            case .png(let files):
                var inputs: [PatchInput] = []
                for file in files {
                    do { inputs.append(.image(try PatchDecoding.decode(file, limits: PatchDecoding.patchOnly))) } catch {
                        return .failure(.scoring(error.description))
                    }
                }
                return .success(inputs)
            }
        }
    }

    static func time(engine: InferenceEngine, requests: [Request], detail: OutputDetail, clients: Int,
                     seconds: Double) throws -> Timing {
        let shared = SharedTiming()
        let clock = ContinuousClock()
        let warmedUp = DispatchGroup(), done = DispatchGroup()
        let start = LockedInstant()
        let window = Duration.milliseconds(Int64(seconds * 1000))
        for client in 0..<clients {
            warmedUp.enter(); done.enter()
            let request = requests[client % requests.count]
            Thread {
                let submit = { request.inputs().flatMap { engine.run(inputs: $0, detail: detail) } }
                shared.record(submit(), latency: nil, at: 0)
                warmedUp.leave()
                let begin = start.wait()
                while true {
                    let sent = clock.now
                    let result = submit()
                    let answered = clock.now
                    // A request that ends past the window counts only while none has yet (a slow machine or a
                    // short window): the wall then stretches to its end.
                    guard answered - begin < window || shared.requests == 0 else { break }
                    shared.record(result, latency: (answered - sent).seconds, at: (answered - begin).seconds)
                }
                done.leave()
            }.start()
        }
        warmedUp.wait()
        start.set(clock.now)
        done.wait()
        let (timing, failure) = shared.result
        if let failure { throw CLIError(failure.description) }
        guard timing.requests > 0 else { throw CLIError("no request finished; measure for longer") }
        return Timing(requests: timing.requests, latencies: timing.latencies, wall: max(seconds, timing.wall))
    }

    /// One request per starting file (`--patch`), or one of random patches: client `c` submits request
    /// `c % count`, so clients alternate files as the load test's clients do.
    func makeRequests() throws -> [Request] {
        let files: [[UInt8]]
        if patchFiles.isEmpty {
            do { files = try Self.randomPatches(batch).map { try PNGEncoder.encode($0) } } catch {
                throw CLIError("cannot encode a patch: \(error)")
            }
        } else {
            files = try patchFiles.map { path in
                guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
                let bytes = [UInt8](data)
                do { _ = try PatchDecoding.decode(bytes, limits: PatchDecoding.patchOnly) } catch {
                    throw CLIError("\(path): \(error)")
                }
                return bytes
            }
        }
        let starts = patchFiles.isEmpty ? 1 : files.count
        return try (0..<starts).map { start in
            let batchFiles = (0..<batch).map { files[(start + $0) % files.count] }
            switch input {
            case .png: return .png(batchFiles)
            case .pixels:
                guard case .success(let inputs) = Request.png(batchFiles).inputs() else { throw CLIError("cannot decode a patch") }
                return .decoded(inputs)
            }
        }
    }

    /// Random 150×150 patches (speed does not depend on pixel values; PNG decoding does: see `--patch`).
    static func randomPatches(_ count: Int) -> [RGBImage] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let side = CNNAutoencoder3.inputSize
        return (0..<count).map { _ in
            RGBImage(width: side, height: side, pixels: (0..<(side * side * 3)).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 56)
            })
        }
    }
}

/// The timing threads' shared tally.
private final class SharedTiming: @unchecked Sendable {
    private let lock = NSLock()
    private var timing = BenchCommand.Timing()
    private var failure: ServiceError?

    /// Counts an answered request (`latency` nil: the warm-up, not counted) that ended `at` seconds into the run.
    func record(_ result: Result<BatchOutcome, ServiceError>, latency: Double?, at seconds: Double) {
        lock.withLock {
            if case .failure(let error) = result { failure = error }
            guard let latency else { return }
            timing.requests += 1
            timing.latencies.append(latency)
            timing.wall = max(timing.wall, seconds)
        }
    }

    var requests: Int { lock.withLock { timing.requests } }

    var result: (BenchCommand.Timing, ServiceError?) { lock.withLock { (timing, failure) } }
}

/// A start instant the timing threads wait for: they all begin measuring at the same moment, after warm-up.
private final class LockedInstant: @unchecked Sendable {
    private let condition = NSCondition()
    private var instant: ContinuousClock.Instant?

    func set(_ value: ContinuousClock.Instant) {
        condition.lock(); instant = value; condition.broadcast(); condition.unlock()
    }

    func wait() -> ContinuousClock.Instant {
        condition.lock(); defer { condition.unlock() }
        while instant == nil { condition.wait() }
        return instant!
    }
}
