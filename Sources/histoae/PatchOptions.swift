import ArgumentParser
import ImageCodecs

/// `--batch` and `--max-pixels`, shared by the commands that run patch files through the engine.
struct PatchOptions: ParsableArguments {
    @Option(help: "Patches handed to the engine at once (one request; bounds the memory of decoded inputs).")
    var batch: Int = 8

    @Option(help: "Refuse images whose header declares more pixels than this.")
    var maxPixels: Int = DecodeLimits().maxPixels

    var limits: DecodeLimits { DecodeLimits(maxPixels: maxPixels) }

    func validate() throws {
        guard (1...1024).contains(batch) else { throw ValidationError("--batch must be between 1 and 1024, got \(batch)") }
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be positive") }
    }
}
