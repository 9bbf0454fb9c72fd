/// The Open Inference Protocol's tensor element types (KServe v2 "Tensor Data Types"), as the protocol spells
/// them. HistoAE's model takes `UINT8` and `FP32` and answers `FP32`, `FP64` and `BYTES`; the others are named
/// so that a request using one is refused with its name rather than as unknown text.
public enum TensorDatatype: String, Sendable, CaseIterable, Codable {
    case bool = "BOOL"
    case uint8 = "UINT8", uint16 = "UINT16", uint32 = "UINT32", uint64 = "UINT64"
    case int8 = "INT8", int16 = "INT16", int32 = "INT32", int64 = "INT64"
    case fp16 = "FP16", bf16 = "BF16", fp32 = "FP32", fp64 = "FP64"
    /// Variable-length byte strings; in raw (binary) form each element is a 4-byte little-endian length, then
    /// its bytes.
    case bytes = "BYTES"

    /// Bytes per element in raw form; nil for ``bytes`` (variable length).
    public var elementSize: Int? {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .fp16, .bf16: 2
        case .uint32, .int32, .fp32: 4
        case .uint64, .int64, .fp64: 8
        case .bytes: nil
        }
    }
}
