import Foundation

/// NumPy `.npy` (format 1.0/2.0) for float32 arrays in C order — the `histoae reconstruct` exchange format.
///
/// ```swift
/// let t = try NPY.read(Data(contentsOf: url))     // Tensor with shape [N, 3, 150, 150]
/// try NPY.serialize(t).write(to: out)
/// ```
public enum NPY {
    public static func read(_ data: Data) throws(NPYError) -> Tensor {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw .malformed("missing the \\x93NUMPY magic")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else if major == 2 || major == 3, bytes.count >= 12 {
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        } else { throw .malformed("unsupported .npy version \(major)") }
        guard headerStart + headerLength <= bytes.count,
              let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .ascii)
        else { throw .malformed("truncated header") }
        guard header.contains("'descr': '<f4'") || header.contains("'descr': '=f4'") else {
            throw .unsupported("dtype must be little-endian float32 ('<f4'); header: \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        guard header.contains("'fortran_order': False") else { throw .unsupported("Fortran-order arrays are not supported") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw .malformed("no shape in header")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let count = shape.reduce(1, *)
        let payload = headerStart + headerLength
        guard bytes.count - payload == count * 4 else {
            throw .malformed("payload is \(bytes.count - payload) bytes, shape \(shape) needs \(count * 4)")
        }
        let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            bytes.withUnsafeBytes { raw in
                for i in 0..<count {
                    out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: payload + 4 * i, as: UInt32.self)))
                }
            }
            initialized = count
        }
        return Tensor(shape: shape, values: values)
    }

    public static func serialize(_ tensor: Tensor) -> Data {
        let shape = tensor.shape.count == 1 ? "(\(tensor.shape[0]),)" : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        // Pad so the payload starts on a 64-byte boundary, newline-terminated, as NumPy writes it.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        out.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        out.append(contentsOf: Array(header.utf8))
        tensor.values.withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }
}

public enum NPYError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .malformed(let why): "not a valid .npy file: \(why)"
        case .unsupported(let why): "unsupported .npy array: \(why)"
        }
    }
}
