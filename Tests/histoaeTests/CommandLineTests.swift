import AutoencoderModel
import Foundation
import Testing

/// `histoae` end to end: exit status, outputs, and one readable stderr line for every bad input.
@Suite("histoae command line")
struct CommandLineTests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let modelFixtures = tests.appendingPathComponent("AutoencoderModelTests/Fixtures")
    static let codecFixtures = tests.appendingPathComponent("ImageCodecsTests/Fixtures")
    static let weights = modelFixtures.appendingPathComponent("parity_weights_f16.safetensors").path
    static var patches: [String] { (0..<2).map { modelFixtures.appendingPathComponent("patch\($0).png").path } }

    struct Outcome { var status: Int32; var stdout: String; var stderr: String }

    /// The `histoae` built next to this test bundle.
    static func histoae(_ arguments: [String]) throws -> Outcome {
        // The test runner is `.build/<config>/HistoAEPackageTests.xctest`, next to the executable.
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let process = Process()
        process.executableURL = products.appendingPathComponent("histoae")
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("histoae-cli-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("reconstruct writes (N, 3, 150, 150) float32 .npy")
    func reconstructNPY() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.npy")
        let result = try Self.histoae(["reconstruct", "--model", Self.weights, "--format", "npy",
                                       "--output", output.path, "--threads", "2"] + Self.patches)
        #expect(result.status == 0, "\(result.stderr)")
        let data = try Data(contentsOf: output)
        let header = String(decoding: data.prefix(128), as: UTF8.self)
        #expect(header.contains("'descr': '<f4'") && header.contains("'shape': (2, 3, 150, 150)"))
        #expect(data.count == 128 + 2 * 3 * 150 * 150 * 4)
    }

    @Test("reconstruct --blocks writes every block's (N, C, H, W) output; output.npy is the reconstruction")
    func reconstructBlocks() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.npy"), blocks = folder.appendingPathComponent("blocks")
        let result = try Self.histoae(["reconstruct", "--model", Self.weights, "--format", "npy", "--output", output.path,
                                       "--blocks", blocks.path] + Self.patches)
        #expect(result.status == 0, "\(result.stderr)")
        let shapes = ["enc1": "(2, 64, 75, 75)", "enc2": "(2, 128, 38, 38)", "enc3": "(2, 256, 19, 19)",
                      "enc4": "(2, 256, 10, 10)", "up1": "(2, 256, 20, 20)", "fuse1": "(2, 256, 20, 20)",
                      "up2": "(2, 128, 40, 40)", "fuse2": "(2, 128, 40, 40)", "up3": "(2, 64, 80, 80)",
                      "fuse3": "(2, 64, 80, 80)", "up4": "(2, 32, 160, 160)", "head": "(2, 3, 160, 160)",
                      "output": "(2, 3, 150, 150)"]
        for (block, shape) in shapes {
            let data = try Data(contentsOf: blocks.appendingPathComponent("\(block).npy"))
            let header = String(decoding: data.prefix(128), as: UTF8.self)
            #expect(header.contains("'descr': '<f4'") && header.contains("'shape': \(shape)"), "\(block): \(header)")
        }
        // The last block is what the engine answered, bit for bit (one patch per pass either way).
        #expect(try Data(contentsOf: blocks.appendingPathComponent("output.npy")) == Data(contentsOf: output))
        let many = try Self.histoae(["reconstruct", "--model", Self.weights, "--output", output.path, "--blocks", blocks.path]
                                    + Array(repeating: Self.patches[0], count: 33))
        #expect(many.status != 0 && many.stderr.contains("at most 32 patches"), "\(many.stderr)")
    }

    @Test("reconstruct writes one 150×150 PNG per input")
    func reconstructPNG() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try Self.histoae(["reconstruct", "--model", Self.weights, "--format", "png",
                                       "--output", folder.appendingPathComponent("png").path] + Self.patches)
        #expect(result.status == 0, "\(result.stderr)")
        for n in 0..<2 {
            let png = try Data(contentsOf: folder.appendingPathComponent("png/patch\(n).png"))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
            // IHDR width and height, big-endian at bytes 16…23.
            #expect(Array(png[16..<24]) == [0, 0, 0, 150, 0, 0, 0, 150])
        }
    }

    @Test("a bad input is one clear stderr line, exit 1, and nothing written",
          arguments: [("bad_crc.png", "corrupt"), ("truncated.jpg", "Premature end of JPEG file"),
                      ("truncated.png", "corrupt"), ("bomb_5000x5000.png", "more than the limit"),
                      ("bomb_5000x5000.jpg", "more than the limit"), ("kather_patch.jpg", "expected 150×150"),
                      ("does-not-exist.png", "no such file")])
    func badInput(_ file: String, _ message: String) throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.npy")
        let result = try Self.histoae(["reconstruct", "--model", Self.weights, "--output", output.path,
                                       Self.patches[0], Self.codecFixtures.appendingPathComponent(file).path])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains(file) && lines[0].contains(message), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test("model lists the layers of a good file")
    func modelGood() throws {
        let result = try Self.histoae(["model", "--model", Self.weights])
        #expect(result.status == 0)
        #expect(result.stdout.contains("parameters: 3,500,931") || result.stdout.contains("parameters: 3500931"))
        #expect(result.stdout.contains("fuse1.conv.weight") && result.stdout.contains("512"))
    }

    @Test("model reports a missing key, an extra key and a wrong shape at once")
    func modelBad() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let broken = folder.appendingPathComponent("broken.safetensors")
        try Self.rewrite(Self.weights, to: broken) { entries in
            entries.removeValue(forKey: "enc2.bn.running_var")
            entries["extra.weight"] = entries["head.bias"]
            entries["head.weight"]!.shape = [3, 16, 6, 3]    // same byte count, wrong shape
        }
        let result = try Self.histoae(["model", "--model", broken.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("3 problems"))
        #expect(result.stderr.contains("missing tensor enc2.bn.running_var"))
        #expect(result.stderr.contains("unexpected tensor extra.weight"))
        #expect(result.stderr.contains("tensor head.weight has shape [3, 16, 6, 3], expected [3, 32, 3, 3]"))
    }

    @Test("bench prints images/s and GFLOP/s")
    func bench() throws {
        let result = try Self.histoae(["bench", "--batch", "2", "--seconds", "0.2", "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("images/s") && result.stdout.contains("GFLOP/s"))
    }

    @Test("bench --patch times the given files; a file that is not a 150×150 patch is one clear line, exit 1")
    func benchPatchFiles() throws {
        let good = try Self.histoae(["bench", "--batch", "1", "--clients", "2", "--seconds", "0.2", "--workers", "1",
                                     "--patch", Self.patches[0], "--patch", Self.patches[1]])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("images/s"))
        let wrongSize = Self.codecFixtures.appendingPathComponent("gray8.png").path
        let bad = try Self.histoae(["bench", "--seconds", "0.2", "--patch", wrongSize])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains(wrongSize) && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
    }

    @Test("machine names the CPU and the GEMM kernel; --openblas-core prints only a core name or nothing")
    func machine() throws {
        let report = try Self.histoae(["machine"])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("cpu: ") && report.stdout.contains("GEMM: ") && report.stdout.contains("OpenBLAS"))
        // What --precision bf16 runs on this CPU, as the commands and the server resolve it.
        let bf16 = ModelPrecision.bf16.resolved()
        #expect(report.stdout.contains("--precision bf16: \(bf16.fallbackReason ?? "bf16; GEMM: ")"), "\(report.stdout)")
        let core = try Self.histoae(["machine", "--openblas-core"])
        #expect(core.status == 0)
        let name = core.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!name.contains(" ") && !name.contains("\n"), "one core name or nothing: \(core.stdout)")
    }

    @Test("wrong arguments exit non-zero with a usage message")
    func wrongArguments() throws {
        let unused = FileManager.default.temporaryDirectory.appendingPathComponent("histoae-unused-\(UUID())").path
        let result = try Self.histoae(["reconstruct", "--batch", "0", "--model", Self.weights, "--output", unused, Self.patches[0]])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--batch must be between 1 and 1024"))
    }

    @Test("serve refuses a scan setting out of range with one line naming the flag and its range",
          arguments: [(["--open-slides", "0"], "--open-slides must be in 1...64, got 0"),
                      (["--open-slides", "65"], "--open-slides must be in 1...64, got 65"),
                      (["--scan-workers", "17"], "--scan-workers must be in 1...16, got 17")])
    func serveRefusesScanSettings(flags: [String], message: String) throws {
        let result = try Self.histoae(["serve", "--model", Self.weights, "--port", "0"] + flags)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
    }

    /// Edits a safetensors file's header entries (name → shape, byte range kept) and writes a new file.
    struct Entry { var dtype: String; var shape: [Int]; var bytes: Data }
    static func rewrite(_ path: String, to url: URL, _ edit: (inout [String: Entry]) -> Void) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = try JSONSerialization.jsonObject(with: data[8..<(8 + length)]) as! [String: Any]
        var entries: [String: Entry] = [:]
        for (name, value) in header where name != "__metadata__" {
            let e = value as! [String: Any]
            let offsets = (e["data_offsets"] as! [NSNumber]).map(\.intValue)
            entries[name] = Entry(dtype: e["dtype"] as! String, shape: (e["shape"] as! [NSNumber]).map(\.intValue),
                                  bytes: data[(8 + length + offsets[0])..<(8 + length + offsets[1])])
        }
        edit(&entries)
        var newHeader: [String: Any] = [:]
        var payload = Data()
        for name in entries.keys.sorted() {
            let e = entries[name]!
            newHeader[name] = ["dtype": e.dtype, "shape": e.shape, "data_offsets": [payload.count, payload.count + e.bytes.count]]
            payload.append(e.bytes)
        }
        let json = try JSONSerialization.data(withJSONObject: newHeader)
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(payload)
        try out.write(to: url)
    }
}
