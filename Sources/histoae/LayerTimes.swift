import AutoencoderModel
import Foundation
import InferenceService

/// `histoae bench --layers`: milliseconds from one block's output to the next — the fastest of several passes
/// (at least 5, for about `seconds`) so a noisy neighbour's pause does not land on one block.
enum LayerTimes {
    static func print(_ network: CNNAutoencoder3, batch: Int, threads: Int, seconds: Double) {
        let per = 3 * CNNAutoencoder3.inputSize * CNNAutoencoder3.inputSize
        // (batch, 3, 150, 150) input in [−1, 1) and its reconstruction.
        let input = (0..<(batch * per)).map { Float(($0 * 7919) % 2000) / 1000 - 1 }
        var output = [Float](repeating: 0, count: batch * per)
        let workspace = Workspace()
        workspace.threads = threads
        let clock = ContinuousClock()
        var fastest: [CNNAutoencoder3.Block: Double] = [:]
        var passes = 0
        let started = clock.now
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                repeat {
                    var last = clock.now
                    network.forward(input: x.baseAddress!, count: batch, output: y.baseAddress!, workspace: workspace) { block, _, _ in
                        let now = clock.now
                        fastest[block] = min(fastest[block] ?? .infinity, (now - last).seconds * 1000)
                        last = now
                    }
                    passes += 1
                } while passes < 5 || (clock.now - started).seconds < seconds
            }
        }
        let total = fastest.values.reduce(0, +)
        Swift.print(String(format: "per block, fastest of %d passes of batch %d on %d thread(s):", passes, batch, threads))
        for block in CNNAutoencoder3.Block.allCases {
            let ms = fastest[block] ?? 0
            Swift.print(String(format: "  %-7@ %8.2f ms  %5.1f%%", block.rawValue as NSString, ms / Double(batch), 100 * ms / total) + " (per image)")
        }
        Swift.print(String(format: "  %-7@ %8.2f ms", "total" as NSString, total / Double(batch)) + " (per image)")
    }
}
