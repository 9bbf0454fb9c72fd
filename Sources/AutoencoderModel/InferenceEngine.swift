import Foundation
import TensorKernels

/// How the engine spends its threads: `workers` independent forward passes side by side, each running its GEMMs
/// single-threaded (``PackedWeights``), or — for batches smaller than `workers` — one pass whose loops and GEMMs
/// are split across all of them (still single-threaded GEMM calls: OpenBLAS's own threads scale poorly on these
/// small matrices). Independent workers scale the im2col, epilogue and resize work too.
public struct ThreadLayout: Sendable, Equatable, CustomStringConvertible {
    public var workers: Int
    /// Images per forward pass inside a worker: a worker walks its share of a batch in passes this small so
    /// the activations (about 15 MB per image) stay in cache instead of streaming through memory.
    public var microBatch: Int

    public init(workers: Int, microBatch: Int = 2) {
        self.workers = max(1, workers)
        self.microBatch = max(1, microBatch)
    }

    /// One worker per core of the machine.
    public static var machine: ThreadLayout { ThreadLayout(workers: ProcessInfo.processInfo.activeProcessorCount) }

    public var description: String { "\(workers) single-threaded worker\(workers == 1 ? "" : "s")" }
}

/// Runs CNNAutoencoder_3 forward passes on dedicated threads — never on an event loop or Swift's cooperative
/// pool — splitting each batch across ``ThreadLayout/workers`` threads, each with its own reused ``Workspace``.
///
/// Calls are serialized: one batch at a time uses every worker. Thread-safe.
///
/// ```swift
/// let engine = InferenceEngine(model: model, layout: ThreadLayout(workers: 2))
/// let output = engine.reconstruct(batch)        // Tensor (N, 3, 150, 150)
/// ```
public final class InferenceEngine: @unchecked Sendable {
    public let model: CNNAutoencoder3
    public let layout: ThreadLayout
    private let workers: [WorkerThread]
    private let callLock = NSLock()

    public init(model: CNNAutoencoder3, layout: ThreadLayout = .machine) {
        self.model = model
        self.layout = layout
        self.workers = (0..<layout.workers).map { WorkerThread(name: "histoae-inference-\($0)") }
        BLAS.setThreads(1)
    }

    deinit { workers.forEach { $0.stop() } }

    /// - Parameters:
    ///   - input: `(count, 3, 150, 150)`, normalized.
    ///   - output: `(count, 3, 150, 150)`, written. Blocks until done.
    public func forward(input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>) {
        guard count > 0 else { return }
        callLock.lock()
        defer { callLock.unlock() }
        let per = 3 * CNNAutoencoder3.inputSize * CNNAutoencoder3.inputSize
        let model = self.model
        let x = SendablePointer(input), y = SendableMutablePointer(output)
        if count < workers.count {
            // Too few images to split: one pass whose kernels split every loop and every GEMM across the cores
            // (``ScratchBuffer/threads``), each part a single-threaded GEMM call.
            let threads = workers.count
            workers[0].run { workspace in
                workspace.scratch.threads = threads
                model.forward(input: x.pointer, count: count, output: y.pointer, workspace: workspace)
                workspace.scratch.threads = 1
            }.wait()
            return
        }
        // Contiguous, near-equal shares of the batch, each walked in micro-batches.
        let microBatch = layout.microBatch
        let done = workers.enumerated().map { index, worker in
            let first = count * index / workers.count
            let end = count * (index + 1) / workers.count
            return worker.run { workspace in
                var start = first
                while start < end {
                    let n = min(microBatch, end - start)
                    model.forward(input: x.pointer + start * per, count: n, output: y.pointer + start * per,
                                  workspace: workspace)
                    start += n
                }
            }
        }
        done.forEach { $0.wait() }
    }

    /// Convenience over ``forward(input:count:output:)`` for a `(N, 3, 150, 150)` tensor.
    public func reconstruct(_ input: Tensor) -> Tensor {
        var output = Tensor(zeros: input.shape)
        input.values.withUnsafeBufferPointer { x in
            output.values.withUnsafeMutableBufferPointer { y in
                forward(input: x.baseAddress!, count: input.shape[0], output: y.baseAddress!)
            }
        }
        return output
    }
}

/// One long-lived thread that owns a ``Workspace`` and runs the jobs handed to it, one at a time.
final class WorkerThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var job: ((Workspace) -> Void)?
    private var stopping = false
    private var thread: Thread?

    init(name: String) {
        // The thread holds its worker strongly until `stop()` lets the loop return, so a worker released
        // before its thread has started cannot be used after free.
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    /// Hands `body` to the thread; the returned signal fires when it has run.
    func run(_ body: @escaping (Workspace) -> Void) -> DispatchSemaphore {
        let finished = DispatchSemaphore(value: 0)
        condition.lock()
        job = { workspace in
            body(workspace)
            finished.signal()
        }
        condition.signal()
        condition.unlock()
        return finished
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        let workspace = Workspace()
        while true {
            condition.lock()
            while job == nil && !stopping { condition.wait() }
            if stopping && job == nil {
                condition.unlock()
                return
            }
            let next = job!
            job = nil
            condition.unlock()
            next(workspace)
        }
    }
}

/// Raw pointers handed to worker threads; the caller keeps the memory alive until the work is done.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafePointer<Float>
    init(_ pointer: UnsafePointer<Float>) { self.pointer = pointer }
}

struct SendableMutablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
