/// BatchNorm in eval mode (docs/model.md §6, with running statistics), folded into the convolution before it.
///
/// `BN(conv(x)) = γ·(W·x + b − μ)/√(σ² + ε) + β = (s·W)·x + (s·(b − μ) + β)` with `s = γ/√(σ² + ε)`.
/// Done once when the model loads, so inference runs one convolution and no normalization pass.
public struct BatchNormParameters: Sendable {
    /// `(C)` each.
    public var weight: [Float], bias: [Float], runningMean: [Float], runningVar: [Float]
    public var epsilon: Float

    public init(weight: [Float], bias: [Float], runningMean: [Float], runningVar: [Float], epsilon: Float = 1e-5) {
        self.weight = weight
        self.bias = bias
        self.runningMean = runningMean
        self.runningVar = runningVar
        self.epsilon = epsilon
    }

    /// Folds into a convolution with weight `(C_out, fanIn)` rows and bias `(C_out)`; returns the new pair.
    /// Arithmetic in Double so folding adds no error beyond the final rounding to float32.
    public func fold(weight convWeight: [Float], bias convBias: [Float]) -> (weight: [Float], bias: [Float]) {
        let channels = convBias.count
        precondition(weight.count == channels && convWeight.count % channels == 0)
        let fanIn = convWeight.count / channels
        var foldedWeight = convWeight
        var foldedBias = convBias
        for c in 0..<channels {
            let scale = Double(weight[c]) / (Double(runningVar[c]) + Double(epsilon)).squareRoot()
            for i in 0..<fanIn {
                foldedWeight[c * fanIn + i] = Float(Double(convWeight[c * fanIn + i]) * scale)
            }
            foldedBias[c] = Float((Double(convBias[c]) - Double(runningMean[c])) * scale + Double(bias[c]))
        }
        return (foldedWeight, foldedBias)
    }
}
