import Foundation
import Testing
import TensorKernels

/// Hostile safetensors and .npy files: TensorKernels is built with `-Ounchecked`, so a size product that
/// wraps used to pass the byte-count check and send the widening copy off the heap (SIGSEGV). Every input
/// here must throw; the fuzz tests check that any byte string parses or throws.
@Suite("Hostile safetensors and .npy files are refused, never trusted")
struct HostileWeightFileTests {
    /// A safetensors file from its JSON header text and payload bytes.
    static func safetensors(_ header: String, payload: Int) -> Data {
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(Data(count: payload))
        return data
    }

    static func entry(_ name: String, _ dtype: String, _ shape: String, _ begin: Int, _ end: Int) -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(end)]}"
    }

    @Test("wrapping shapes (crashed with SIGSEGV before), negative sizes and bad numbers", arguments: [
        // 4611686018427387905 × 4 bytes wraps to 4: the old byte-count check passed and widen read 2⁶² floats.
        entry("t", "F32", "[4611686018427387905]", 0, 4),
        entry("t", "F16", "[9223372036854775807,2]", 0, 2),
        // 3 × 6148914691236517206 wraps to 2 elements: an 8-byte "tensor" claiming 1.8e19 values.
        entry("t", "F32", "[3,6148914691236517206]", 0, 8),
        entry("t", "F32", "[-1,-4]", 0, 16),
        entry("t", "F32", "[1e30]", 0, 4),
        entry("t", "F32", "[1.5]", 0, 4),
        entry("t", "F32", "[1]", -4, 0),
        entry("t", "F32", "[1]", 4, 0),
        entry("t", "F32", "[1]", 0, 9223372036854775807),
        "\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}",
        "\"t\":{\"dtype\":\"F32\",\"shape\":[1]}",
        "\"t\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}",
        "\"__metadata__\":{\"format\":7}," + entry("t", "F32", "[1]", 0, 4),
    ])
    func badEntries(_ entries: String) {
        let file = Self.safetensors("{\(entries)}", payload: 16)
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(bytes: file) }
    }

    @Test("offsets must tile the payload: overlap, hole, disorder or trailing bytes are refused (reference: InvalidOffset)",
          arguments: [
              (entry("a", "F32", "[4]", 0, 16) + "," + entry("b", "F32", "[4]", 8, 24), 24),   // overlap
              (entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 16, 24), 24),   // hole
              (entry("a", "F32", "[2]", 8, 16), 16),                                             // does not start at 0
              (entry("a", "F32", "[2]", 0, 8), 12),                                              // trailing bytes
              (entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 0, 8), 16),     // aliasing
          ])
    func offsetsTileThePayload(_ entries: String, _ payload: Int) {
        let file = Self.safetensors("{\(entries)}", payload: payload)
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(bytes: file) }
    }

    @Test("tensors in any header order, zero-sized ones and integer entries still load")
    func validLayouts() throws {
        let header = "{" + [Self.entry("b", "F32", "[2]", 8, 16), Self.entry("a", "F16", "[2,2]", 0, 8),
                            Self.entry("empty", "F32", "[0,3]", 16, 16), Self.entry("n", "I64", "[]", 16, 24)]
            .joined(separator: ",") + ",\"__metadata__\":{\"format\":\"pt\"}}   "
        let file = try SafetensorsFile(bytes: Self.safetensors(header, payload: 24))
        #expect(file.tensors["a"]?.shape == [2, 2] && file.tensors["b"]?.values == [0, 0])
        #expect(file.tensors["empty"]?.shape == [0, 3] && file.tensors["empty"]?.count == 0)
        #expect(file.otherEntries["n"]?.dtype == "I64" && file.metadata == ["format": "pt"])
    }

    @Test("header length, start and nesting are checked before parsing")
    func headerLimits() throws {
        var huge = Data()
        withUnsafeBytes(of: UInt64(100_000_001).littleEndian) { huge.append(contentsOf: $0) }
        huge.append(Data(count: 100_000_001))
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(bytes: huge) }
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(bytes: Self.safetensors(" {}", payload: 0)) }
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(bytes: Self.safetensors("{\"t\":\u{FF}}", payload: 0)) }
        let nested = "{\"t\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(bytes: Self.safetensors(nested, payload: 0)) }
        #expect(try SafetensorsFile(bytes: Self.safetensors("{}", payload: 0)).tensors.isEmpty)
    }

    /// A NumPy v1 file from a header dictionary literal and a payload size.
    static func npy(_ dictionary: String, payload: Int) -> Data {
        var header = dictionary
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(Data(header.utf8))
        data.append(Data(count: payload))
        return data
    }

    @Test(".npy headers are parsed, not searched; shapes are overflow-checked", arguments: [
        // 4611686018427387905 × 4 wraps to 4: crashed with SIGSEGV before.
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387905,), }", 4),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 6148914691236517206), }", 8),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 8),     // was read as (2,)
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': \"'descr': '<f4'\"}", 8),  // smuggled dtype
        ("{'descr': '<f4', 'fortran_order': False, 'fortran_order': True, 'shape': (2,), }", 8),
        ("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8),
        ("{'descr': '<f4', 'shape': (2,), }", 8),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } trailing", 8),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12),
    ])
    func badNPY(_ dictionary: String, _ payload: Int) {
        #expect(throws: NPYError.self) { try NPY.read(Self.npy(dictionary, payload: payload)) }
    }

    @Test(".npy written by NumPy in its usual spellings still loads")
    func npySpellings() throws {
        #expect(try NPY.read(Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", payload: 4)).shape == [])
        #expect(try NPY.read(Self.npy("{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,3)}", payload: 24)).shape == [2, 3])
        #expect(try NPY.read(Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", payload: 0)).count == 0)
        var truncated = Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", payload: 4)
        truncated[8] = 0xFF; truncated[9] = 0xFF   // header length past the end of the file
        #expect(throws: NPYError.self) { try NPY.read(truncated) }
    }
}
