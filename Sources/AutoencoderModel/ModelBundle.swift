import Foundation
import TensorKernels

/// A model as shipped: `model.safetensors` plus its card `model.json` in one folder (the card is optional for
/// bare weight files). Loading checks the weights against the card's sha256 first, when there is a card — before
/// parsing them — then against the state-dict contract, so a result can always name the exact model that
/// produced it.
///
/// ```swift
/// let bundle = try ModelBundle.load(ModelLocator.resolve(nil))   // the default model
/// bundle.card?.version
/// ```
public struct ModelBundle: Sendable {
    public let weightsURL: URL
    public let model: CNNAutoencoder3
    public let card: ModelCard?
    /// sha256 of the weight file as loaded.
    public let weightsSHA256: String

    /// - Parameter path: a folder holding `model.safetensors` (+ `model.json`), or a `.safetensors` file
    ///   (with an optional `model.json` beside it).
    /// - Parameter precision: the GEMMs' arithmetic (``CNNAutoencoder3/precision`` says what runs).
    public static func load(_ path: URL, precision: Precision = .fp32) throws(ModelBundleError) -> ModelBundle {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isFolder) else {
            throw .notFound(path.path)
        }
        let weightsURL = isFolder.boolValue ? path.appendingPathComponent("model.safetensors") : path
        let cardURL = weightsURL.deletingLastPathComponent().appendingPathComponent("model.json")
        let bytes: Data
        do { bytes = try Data(contentsOf: weightsURL) } catch {
            throw .weights(weightsURL.path, .file(.unreadable(error.localizedDescription)))
        }
        // Hash before parse: weights that are not the ones the card names are refused without
        // their (untrusted) bytes ever reaching the safetensors parser.
        let digest = SHA256.hex(bytes)
        var card: ModelCard?
        if FileManager.default.fileExists(atPath: cardURL.path) {
            let loaded: ModelCard
            do { loaded = try ModelCard(contentsOf: cardURL) } catch { throw .card(error) }
            guard loaded.weights.sha256.lowercased() == digest else {
                throw .card(.weightsMismatch(card: cardURL.path, expected: loaded.weights.sha256, found: digest))
            }
            card = loaded
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(bytes: bytes) } catch { throw .weights(weightsURL.path, .file(error)) }
        let model: CNNAutoencoder3
        do { model = try CNNAutoencoder3(stateDict: file, precision: precision) } catch { throw .weights(weightsURL.path, error) }
        return ModelBundle(weightsURL: weightsURL, model: model, card: card, weightsSHA256: digest)
    }
}

public enum ModelBundleError: Error, CustomStringConvertible {
    case notFound(String)
    case weights(String, ModelLoadError)
    case card(ModelCardError)

    public var description: String {
        switch self {
        case .notFound(let path): "no model at \(path)"
        case .weights(let path, let error): "\(path): \(error)"
        case .card(let error): error.description
        }
    }
}

/// Where the model comes from when none is named: `HISTOAE_MODEL`, else the default model shipped with
/// HistoAE — `models/default` found beside or above the executable (a repository checkout, or an install
/// prefix such as the container's `/app`), else `/usr/share/histoae/models/default`.
public enum ModelLocator {
    public static let defaultRelativePath = "models/default"

    public static func resolve(_ explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        if let explicit { return URL(fileURLWithPath: explicit) }
        if let fromEnvironment = environment["HISTOAE_MODEL"], !fromEnvironment.isEmpty {
            return URL(fileURLWithPath: fromEnvironment)
        }
        return defaultModel()
    }

    /// The shipped default model, if it can be found.
    public static func defaultModel() -> URL? {
        var candidates: [URL] = []
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(folder.appendingPathComponent(defaultRelativePath))
            candidates.append(folder.appendingPathComponent("share/histoae/\(defaultRelativePath)"))
            folder = folder.deletingLastPathComponent()
        }
        candidates.append(URL(fileURLWithPath: "/usr/share/histoae/\(defaultRelativePath)"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("model.safetensors").path) }
    }
}
