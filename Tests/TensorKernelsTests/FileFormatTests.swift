import Foundation
import Testing
import TensorKernels

@Suite("safetensors and .npy")
struct FileFormatTests {
    @Test("safetensors round trip and widening")
    func safetensorsRoundTrip() throws {
        let file = SafetensorsFile(tensors: ["a": Tensor(shape: [2, 2], values: [1, -2, 3.5, 0]),
                                             "b.c": Tensor(shape: [3], values: [0.25, 8, -1e-3])],
                                   metadata: ["format": "pt"])
        let back = try SafetensorsFile(bytes: file.serialized())
        #expect(back.tensors == file.tensors)
        #expect(back.metadata == ["format": "pt"])
    }

    @Test("F16 weights widen exactly", .tags())
    func halfWidening() throws {
        // 1.0, -2.0, 0.5 as IEEE half: 0x3C00, 0xC000, 0x3800; BF16 1.0 is 0x3F80.
        func file(_ dtype: String, _ words: [UInt16]) -> Data {
            let header = "{\"t\":{\"dtype\":\"\(dtype)\",\"shape\":[\(words.count)],\"data_offsets\":[0,\(words.count * 2)]}}"
            var d = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(Data(header.utf8))
            for w in words { withUnsafeBytes(of: w.littleEndian) { d.append(contentsOf: $0) } }
            return d
        }
        #expect(try SafetensorsFile(bytes: file("F16", [0x3C00, 0xC000, 0x3800])).tensors["t"]?.values == [1, -2, 0.5])
        #expect(try SafetensorsFile(bytes: file("BF16", [0x3F80, 0xC000])).tensors["t"]?.values == [1, -2])
    }

    @Test("malformed safetensors are refused, not trusted",
          arguments: [Data(), Data([1, 2, 3]), Data([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x7b]),
                      Data([2, 0, 0, 0, 0, 0, 0, 0]) + Data("[]".utf8),
                      Data([40, 0, 0, 0, 0, 0, 0, 0]) + Data("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,99]}}".utf8)])
    func malformed(_ bytes: Data) {
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(bytes: bytes) }
    }

    @Test("npy round trip")
    func npyRoundTrip() throws {
        let t = Tensor(shape: [2, 1, 3], values: [1, 2, 3, 4, 5, 6])
        let data = NPY.serialize(t)
        #expect(data.count % 64 == 24 % 64 || (data.count - 24) % 64 == 0)
        #expect(try NPY.read(data) == t)
    }

    @Test("npy of the wrong dtype is refused with a reason")
    func npyWrongType() {
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0])
        d.append(Data(header.utf8)); d.append(Data(count: 8))
        #expect(throws: NPYError.self) { try NPY.read(d) }
    }
}
