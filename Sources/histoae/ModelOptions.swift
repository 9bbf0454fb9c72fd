import ArgumentParser
import AutoencoderModel
import Foundation

/// `--model`: a model folder (`model.safetensors` + `model.json`) or a `.safetensors` file; default: the
/// `HISTOAE_MODEL` environment variable, else the default model shipped in `models/default`.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model folder (model.safetensors + model.json) or .safetensors file (default: $HISTOAE_MODEL, else models/default).")
    var model: String?

    func load() throws -> ModelBundle {
        guard let url = ModelLocator.resolve(model) else {
            throw CLIError("no model given and no default model found (looked for \(ModelLocator.defaultRelativePath) near the executable); pass --model or set HISTOAE_MODEL")
        }
        do { return try ModelBundle.load(url) } catch { throw CLIError(error.description) }
    }
}
