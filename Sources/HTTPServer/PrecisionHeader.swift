import HTTPTypes

extension HTTPField.Name {
    /// `HistoAE-Precision: fp32|bf16`: the arithmetic the model ran in (``InferenceService/InferenceEngine/precision``)
    /// on every answer the model computed (`/v1/score`, `/v1/reconstruct` in JSON or PNG, a scan tile's panel) and on
    /// `/v1/model`, whose body is the card as shipped and so cannot say it.
    ///
    /// ```swift
    /// headers[.histoAEPrecision] = engine.precision.rawValue
    /// ```
    static let histoAEPrecision = HTTPField.Name("HistoAE-Precision")!
}
