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

    /// Parses a whole safetensors file held in memory: the entry point for untrusted bytes (and fuzzing).
    /// Any byte string either parses or throws ``SafetensorsError``; sizes are checked before anything is
    /// allocated or read, with the reference loader's rules (see ``SafetensorsLayout``).
    ///
    /// ```swift
    /// let file = try SafetensorsFile(bytes: Data(bytes: pointer, count: length))
    /// ```
    public init(bytes data: Data) throws(SafetensorsError) {
        let layout = try SafetensorsLayout(parsing: data)
        tensors = [:]
        otherEntries = [:]
        metadata = layout.metadata
        for entry in layout.entries {
            switch entry.dtype {
            case "F32", "F16", "BF16":
                let bytes = data[(data.startIndex + entry.byteRange.lowerBound)..<(data.startIndex + entry.byteRange.upperBound)]
                tensors[entry.name] = Tensor(shape: entry.shape, values: Self.widen(bytes, dtype: entry.dtype, count: entry.elementCount))
            default:
                otherEntries[entry.name] = (entry.dtype, entry.shape)
            }
        }
    }

    /// Bytes per element of every dtype the reference format defines in whole bytes.
    static let elementSize: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E5M2": 1, "F8_E4M3": 1,
        "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
    ]

    /// `bytes` holds exactly `count` elements of `dtype` (checked by ``SafetensorsLayout``).
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

/// The checked layout of a safetensors file: every entry's dtype, shape and byte range, validated the
/// way the reference loader (the `safetensors` Rust crate) does before a single tensor byte is read:
/// - the header length is at most 100 MB and within the file, and the header is a UTF-8 JSON object;
/// - shapes are non-negative, their element and byte counts are computed with overflow checks
///   (TensorKernels is built with `-Ounchecked`: a wrapped product would read off the heap);
/// - sorted by offset, the tensors tile the payload exactly: no overlap, no hole, no trailing bytes
///   (the reference's `InvalidOffset`, `TensorInvalidInfo` and `MetadataIncompleteBuffer`).
///
/// ```swift
/// let layout = try SafetensorsLayout(parsing: data)
/// layout.entries.map(\.name)   // in payload order
/// ```
struct SafetensorsLayout {
    struct Entry {
        var name: String
        var dtype: String
        var shape: [Int]
        var elementCount: Int
        /// Where the tensor's bytes are, counted from the start of the file.
        var byteRange: Range<Int>
    }

    /// The reference loader's limit on the JSON header.
    static let maxHeaderLength = 100_000_000

    var entries: [Entry] = []
    var metadata: [String: String] = [:]

    init(parsing data: Data) throws(SafetensorsError) {
        guard data.count >= 8 else { throw .malformed("file is \(data.count) bytes, shorter than its header length") }
        let headerLength = data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(Self.maxHeaderLength), headerLength <= UInt64(data.count - 8) else {
            throw .malformed("header length \(headerLength) exceeds the file size \(data.count) or the 100 MB limit")
        }
        let payloadStart = 8 + Int(headerLength)
        let headerBytes = data[(data.startIndex + 8)..<(data.startIndex + payloadStart)]
        guard headerBytes.first == UInt8(ascii: "{"), String(bytes: headerBytes, encoding: .utf8) != nil else {
            throw .malformed("header is not a UTF-8 JSON object")
        }
        let header: RawHeader
        do { header = try JSONDecoder().decode(RawHeader.self, from: headerBytes) } catch {
            throw .malformed("header is not valid: \(DecodingFailure.describe(error))")
        }
        metadata = header.metadata

        // Sizes first (overflow-checked), then the tiling of the payload in offset order.
        var checked: [Entry] = []
        checked.reserveCapacity(header.entries.count)
        for (name, raw) in header.entries {
            guard let width = SafetensorsFile.elementSize[raw.dtype] else {
                throw .unsupportedDType(name: name, dtype: raw.dtype)
            }
            guard raw.data_offsets.count == 2 else { throw .malformed("entry \"\(name)\" needs data_offsets [begin, end]") }
            let (begin, end) = (raw.data_offsets[0], raw.data_offsets[1])
            guard let count = Self.elementCount(raw.shape), case (let byteCount, false) = count.multipliedReportingOverflow(by: width)
            else { throw .malformed("entry \"\(name)\" has an invalid shape \(raw.shape)") }
            guard begin >= 0, end >= begin else {
                throw .malformed("entry \"\(name)\" has invalid data_offsets [\(begin), \(end)]")
            }
            guard end - begin == byteCount else {
                throw .malformed("entry \"\(name)\" holds \(end - begin) bytes, but \(raw.dtype) \(raw.shape) needs \(byteCount)")
            }
            checked.append(Entry(name: name, dtype: raw.dtype, shape: raw.shape, elementCount: count, byteRange: begin..<end))
        }
        checked.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        let payloadSize = data.count - payloadStart
        var next = 0
        for index in checked.indices {
            let range = checked[index].byteRange
            guard range.lowerBound == next else {
                throw .malformed("entry \"\(checked[index].name)\" starts at byte \(range.lowerBound) of the payload, "
                                 + "expected \(next) (overlapping or out-of-order offsets, or a hole)")
            }
            guard range.upperBound <= payloadSize else {
                throw .malformed("entry \"\(checked[index].name)\" ends at byte \(range.upperBound), past the \(payloadSize)-byte payload")
            }
            next = range.upperBound
            checked[index].byteRange = (payloadStart + range.lowerBound)..<(payloadStart + range.upperBound)
        }
        guard next == payloadSize else {
            throw .malformed("tensors cover \(next) bytes of the \(payloadSize)-byte payload")
        }
        entries = checked
    }

    /// Product of the dimensions, or nil when one is negative or the product overflows Int.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// The JSON header as written: `{name: {dtype, shape, data_offsets}, "__metadata__": {String: String}}`.
    /// Unknown fields inside an entry are ignored, as by the reference loader.
    private struct RawHeader: Decodable {
        struct RawEntry: Decodable {
            var dtype: String
            var shape: [Int]
            var data_offsets: [Int]
        }

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        var entries: [(String, RawEntry)] = []
        var metadata: [String: String] = [:]

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            for key in container.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try container.decode([String: String].self, forKey: key)
                } else {
                    entries.append((key.stringValue, try container.decode(RawEntry.self, forKey: key)))
                }
            }
        }
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
