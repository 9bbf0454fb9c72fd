import ArgumentParser
import ImageCodecs

/// `--batch` and `--max-pixels`, shared by the commands that run patches through the model.
struct PatchOptions: ParsableArguments {
    @Option(help: "Patches per forward pass.")
    var batch: Int = 8

    @Option(help: "Refuse images whose header declares more pixels than this.")
    var maxPixels: Int = DecodeLimits().maxPixels

    var limits: DecodeLimits { DecodeLimits(maxPixels: maxPixels) }

    func validate() throws {
        guard (1...1024).contains(batch) else { throw ValidationError("--batch must be between 1 and 1024, got \(batch)") }
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be positive") }
    }
}
