import TensorKernels

/// The arithmetic a model's GEMMs run in, ``Precision`` (`fp32`, `bf16`), under the name the layers above the
/// kernels use: the command line reaches TensorKernels only through the model and the engine.
///
/// ```swift
/// guard let requested = ModelPrecision(rawValue: "bf16") else { … }
/// let resolution = requested.resolved()              // bf16 → fp32 where the CPU lacks AVX512-BF16 or it does not pay
/// let bundle = try ModelBundle.load(url, precision: resolution.precision)
/// bundle.model.precision                             // what runs
/// ```
public typealias ModelPrecision = Precision
