import Foundation

/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`, then the raw little-endian data.
/// Floating tensors are widened to float32 on read (F16 and BF16 accepted); integer tensors are kept by
/// name and shape only (PyTorch's `num_batches_tracked` is one).
///
/// ```swift
/// let file = try SafetensorsFile(contentsOf: URL(fileURLWithPath: "model.safetensors"))
/// let w = file.tensors["enc1.conv.weight"]   // Tensor, shape [64, 3, 3, 3]
/// ```
public struct SafetensorsFile: Sendable {
    /// Every floating-point tensor, widened to float32.
    public var tensors: [String: Tensor]
    /// Tensors with a non-float dtype: name → (dtype, shape). Kept so callers can account for every entry.
    public var otherEntries: [String: (dtype: String, shape: [Int])]
    /// The free-form `__metadata__` string map.
    public var metadata: [String: String]

    public init(tensors: [String: Tensor], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.otherEntries = [:]
        self.metadata = metadata
    }

    public init(contentsOf url: URL) throws(SafetensorsError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .unreadable(error.localizedDescription)
        }
        try self.init(bytes: data)
    }

    public init(bytes data: Data) throws(SafetensorsError) {
        guard data.count >= 8 else { throw .malformed("file is \(data.count) bytes, shorter than its header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8), headerLength <= 100_000_000 else {
            throw .malformed("header length \(headerLength) exceeds the file size \(data.count)")
        }
        let headerStart = data.startIndex + 8
        let dataStart = headerStart + Int(headerLength)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data[headerStart..<dataStart]) } catch {
            throw .malformed("header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw .malformed("header is not a JSON object") }
        let payloadSize = data.count - 8 - Int(headerLength)
        tensors = [:]
        otherEntries = [:]
        metadata = (header["__metadata__"] as? [String: String]) ?? [:]
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = (entry["shape"] as? [NSNumber])?.map(\.intValue),
                  let offsets = (entry["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2
            else { throw .malformed("entry \"\(name)\" lacks dtype, shape or data_offsets") }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= payloadSize
            else { throw .malformed("entry \"\(name)\" has data_offsets \(offsets) outside the \(payloadSize)-byte payload") }
            let count = shape.reduce(1, *)
            let byteCount = offsets[1] - offsets[0]
            let bytes = data[(dataStart + offsets[0])..<(dataStart + offsets[1])]
            guard let width = Self.elementSize[dtype] else { throw .unsupportedDType(name: name, dtype: dtype) }
            guard byteCount == count * width else {
                throw .malformed("entry \"\(name)\" holds \(byteCount) bytes, but \(dtype) \(shape) needs \(count * width)")
            }
            switch dtype {
            case "F32", "F16", "BF16":
                tensors[name] = Tensor(shape: shape, values: Self.widen(bytes, dtype: dtype, count: count))
            default:
                otherEntries[name] = (dtype, shape)
            }
        }
    }

    static let elementSize: [String: Int] = [
        "F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    ]

    static func widen(_ bytes: Data, dtype: String, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            bytes.withUnsafeBytes { raw in
                switch dtype {
                case "F32":
                    for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case "F16":
                    for i in 0..<count { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
                default: // BF16 is the top half of a float32.
                    for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
                }
            }
            initialized = count
        }
    }

    /// Serializes the float tensors as F32 (names sorted, so output is deterministic).
    public func serialized() -> Data {
        var header: [String: Any] = [:]
        var payload = Data()
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            let begin = payload.count
            tensor.values.withUnsafeBufferPointer { payload.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) }
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [begin, payload.count]]
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        while json.count % 8 != 0 { json.append(0x20) }   // pad with spaces, as the reference writer does
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(payload)
        return out
    }
}

public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case malformed(String)
    case unsupportedDType(name: String, dtype: String)

    public var description: String {
        switch self {
        case .unreadable(let why): "cannot read weight file: \(why)"
        case .malformed(let why): "not a valid safetensors file: \(why)"
        case .unsupportedDType(let name, let dtype): "tensor \"\(name)\" has unsupported dtype \(dtype)"
        }
    }
}
