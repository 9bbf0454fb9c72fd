import AutoencoderModel

extension InferenceEngine {
    /// The arithmetic every result of this engine was computed in: its model's ``CNNAutoencoder3/precision``
    /// (what runs, after a bf16 request fell back to fp32 on a CPU without AVX512-BF16 or where it does not pay). Answers name it beside
    /// the model's identity, read from here so that no caller resolves it again.
    ///
    /// ```swift
    /// let engine = InferenceEngine(model: bundle.model, scorer: scorer, configuration: EngineConfiguration())
    /// headers[.histoAEPrecision] = engine.precision.rawValue      // "fp32" or "bf16"
    /// ```
    public var precision: ModelPrecision { model.precision }
}
