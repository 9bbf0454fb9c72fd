import ArgumentParser
import AutoencoderModel
import Foundation

/// `histoae model --model PATH`: the parameter count and per-layer shapes of a weight file, or every problem.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Check a model against CNNAutoencoder_3's state dict; print its card and layers.")

    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        let bundle = try modelOptions.load()
        if let card = bundle.card {
            print("\(card.name) \(card.version)")
            if let description = card.description { print(description) }
            if let v = card.validation {
                print(String(format: "validation: SSIM %.4f, MSE %.5f, L1 %.4f on %d patches", v.ssim ?? .nan, v.mse ?? .nan,
                             v.l1 ?? .nan, v.patches ?? 0) + (v.split.map { " (\($0))" } ?? ""))
            }
            print("calibration: \(card.hasCalibration ? "present" : "absent (scoring needs one: python -m histoae_training calibrate)")")
        } else {
            print("no model card (model.json) beside the weights")
        }
        print("weights: \(bundle.weightsURL.path)")
        print("sha256: \(bundle.weightsSHA256)")
        print("parameters: \(StateDictContract.parameterCount.formatted())")
        for (name, shape) in StateDictContract.entries {
            print("  \(name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(shape.map(String.init).joined(separator: "×"))")
        }
    }
}
