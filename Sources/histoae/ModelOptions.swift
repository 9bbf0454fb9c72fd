import ArgumentParser
import AutoencoderModel
import Foundation

/// `--model`: a model folder (`model.safetensors` + `model.json`) or a `.safetensors` file; default: the
/// `HISTOAE_MODEL` environment variable, else the default model shipped in `models/default`. `--precision`:
/// see ``PrecisionOptions``.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model folder (model.safetensors + model.json) or .safetensors file (default: $HISTOAE_MODEL, else models/default).")
    var model: String?

    @OptionGroup var precisionOptions: PrecisionOptions

    /// The model at the precision asked for (bf16 falls back to fp32, with one line on stderr, where it cannot run).
    func load() throws -> ModelBundle {
        guard let url = ModelLocator.resolve(model) else {
            throw CLIError("no model given and no default model found (looked for \(ModelLocator.defaultRelativePath) near the executable); pass --model or set HISTOAE_MODEL")
        }
        let precision = try precisionOptions.resolve()
        do { return try ModelBundle.load(url, precision: precision) } catch { throw CLIError(error.description) }
    }
}

/// `--precision fp32|bf16` (default: `HISTOAE_PRECISION`, else fp32; the flag wins): the arithmetic of the model's
/// GEMMs. fp32 is PyTorch's numbers; bf16 runs the AVX512-BF16 kernel (about twice the GEMM speed; the default
/// model's outputs within 0.05 of fp32) where the CPU has it and it pays (``Precision/resolved(on:)``), else fp32
/// with one line on stderr saying why.
///
/// ```swift
/// @OptionGroup var precisionOptions: PrecisionOptions
/// let model = try CNNAutoencoder3(stateDict: file, precision: try precisionOptions.resolve())
/// ```
struct PrecisionOptions: ParsableArguments {
    static let environmentName = "HISTOAE_PRECISION"

    @Option(help: ArgumentHelp("GEMM arithmetic: fp32 (exact to PyTorch) or bf16 (AVX512-BF16 where the CPU has it and it is faster, else fp32) (default: $HISTOAE_PRECISION, else fp32).",
                               valueName: "fp32|bf16"))
    var precision: String?

    func validate() throws { _ = try requested() }

    /// The precision asked for: the flag, else a non-empty `HISTOAE_PRECISION`, else fp32; a value that names
    /// no precision is an error naming where it came from.
    func requested(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ModelPrecision {
        let (value, source): (String, String)
        if let precision {
            (value, source) = (precision, "--precision")
        } else if let fromEnvironment = environment[Self.environmentName], !fromEnvironment.isEmpty {
            (value, source) = (fromEnvironment, Self.environmentName)
        } else {
            return .fp32
        }
        guard let parsed = ModelPrecision(rawValue: value) else {
            let names = ModelPrecision.allCases.map(\.rawValue).joined(separator: " or ")
            throw CLIError("\(source) must be \(names), got '\(value)'")
        }
        return parsed
    }

    /// What to load the model with on this CPU; on a fallback (bf16 where it cannot run) writes why to stderr.
    func resolve() throws -> ModelPrecision {
        let resolution = try requested().resolved()
        if let reason = resolution.fallbackReason {
            FileHandle.standardError.write(Data("histoae: \(reason)\n".utf8))
        }
        return resolution.precision
    }
}
