// swift-tools-version:6.1
// HistoAE: dependencies point one way (scripts/check-dependencies.py checks it) —
// C shims → ImageCodecs / TensorKernels / RequestParsing → AutoencoderModel → Scoring → SlideReading →
// InferenceService (the engine) → SlideScanning → ScanJobs → HTTPServer → `histoae`; the command line reaches
// the kernels only through the engine.
import PackageDescription

/// The kernels' loops vectorize with AVX2 + FMA (any x86-64 server since 2013); baseline SSE2 elsewhere.
#if arch(x86_64)
let kernelFlags = ["-Ounchecked", "-target-cpu", "haswell"]
#else
let kernelFlags = ["-Ounchecked"]
#endif

let package = Package(
    name: "HistoAE",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "histoae", targets: ["histoae"]),
        .library(name: "AutoencoderModel", targets: ["AutoencoderModel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        /// SQLite (Debian libsqlite3-dev) for the scan job records.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        /// gRPC (the Open Inference Protocol's GRPCInferenceService); the Swift code of Protos/ is generated once
        /// by scripts/generate-grpc.sh and committed, so no protoc build plugin runs in a build.
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // MARK: C shims (Debian -dev packages, found by pkg-config)
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"])]),
        /// Whole-slide images (SVS, generic tiled TIFF, NDPI, MRXS, …); only SlideReading links it.
        .systemLibrary(name: "COpenSlide", pkgConfig: "openslide",
                       providers: [.apt(["libopenslide-dev"])]),
        /// Owns libpng's and libjpeg's setjmp/longjmp error paths so a corrupt file is a return code, never exit().
        .target(name: "CCodecShims", dependencies: ["CPNG", "CJPEG"]),
        /// The AVX-512 GEMM micro-kernel over weights packed at load time (chosen at run time; OpenBLAS otherwise).
        /// Optimized even in debug builds: at -O0 its intrinsics spill every register.
        .target(name: "CGEMMKernel", cSettings: [.unsafeFlags(["-O2"])]),

        // MARK: Swift modules
        /// Parsers of untrusted request bytes (multipart/form-data, media types, Accept); no dependencies, so
        /// the fuzz targets in Fuzz/ compile them alone.
        .target(name: "RequestParsing"),
        .target(name: "ImageCodecs", dependencies: ["CCodecShims"]),
        .target(name: "TensorKernels", dependencies: ["COpenBLAS", "CGEMMKernel"],
                swiftSettings: [.unsafeFlags(kernelFlags)]),
        .target(name: "AutoencoderModel", dependencies: ["TensorKernels", "ImageCodecs"]),
        /// Scoring's SSIM and smoothing filters run per patch on the inference threads: same vector flags.
        .target(name: "Scoring", dependencies: ["AutoencoderModel", "ImageCodecs", "TensorKernels"],
                swiftSettings: [.unsafeFlags(kernelFlags)]),
        /// Whole-slide reading: levels and µm/px, the scan level, tissue mask, tile grid and the tile-reading threads.
        .target(name: "SlideReading", dependencies: ["COpenSlide", "ImageCodecs", "Scoring", "TensorKernels"]),
        /// The one engine: a bounded queue and its inference threads, for every caller; knows nothing of HTTP.
        .target(name: "InferenceService", dependencies: [
            "AutoencoderModel", "ImageCodecs", "Scoring", "TensorKernels",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        /// Whole-slide scans through the engine: level, tissue, tiles in batches, and the four outputs (table,
        /// QuPath GeoJSON, heatmap, summary); shared by `histoae scan` and the service's scan jobs.
        .target(name: "InferenceProtocol", dependencies: [
            "InferenceService", "Scoring", "AutoencoderModel", "ImageCodecs",
        ]),
        /// The Open Inference Protocol over gRPC (`inference.GRPCInferenceService`, Protos/): converts the protobuf
        /// messages to InferenceProtocol's types and back; the protocol itself is InferenceProtocol's.
        .target(name: "InferenceGRPC", dependencies: [
            "InferenceProtocol", "InferenceService",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "SlideScanning", dependencies: [
            "SlideReading", "InferenceService", "Scoring", "AutoencoderModel", "ImageCodecs",
        ]),
        /// The service's scan jobs: SQLite records (GRDB), slide-root confinement, the runner that scans queued jobs
        /// on their own threads through the engine at background priority.
        .target(name: "ScanJobs", dependencies: [
            "SlideScanning", "InferenceService", "Scoring", "AutoencoderModel",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        /// Hummingbird routes for openapi.yaml; knows nothing of kernels.
        .target(name: "HTTPServer", dependencies: [
            "InferenceService", "ImageCodecs", "Scoring", "AutoencoderModel", "RequestParsing", "ScanJobs", "SlideReading",
            "SlideScanning", "InferenceProtocol", "InferenceGRPC",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
        ]),
        /// The command line: reaches the kernels only through the engine (scripts/check-dependencies.py).
        .executableTarget(name: "histoae", dependencies: [
            "AutoencoderModel", "ImageCodecs", "Scoring", "InferenceService", "HTTPServer", "SlideScanning", "ScanJobs",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: Tests mirror the modules
        .testTarget(name: "ImageCodecsTests", dependencies: ["ImageCodecs", "TensorKernels"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "TensorKernelsTests", dependencies: ["TensorKernels", "CGEMMKernel"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "AutoencoderModelTests", dependencies: ["AutoencoderModel", "ImageCodecs", "TensorKernels"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ScoringTests", dependencies: ["Scoring", "AutoencoderModel", "ImageCodecs", "TensorKernels"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RequestParsingTests", dependencies: ["RequestParsing"]),
        .testTarget(name: "InferenceServiceTests", dependencies: [
            "InferenceService", "AutoencoderModel", "ImageCodecs", "Scoring", "TensorKernels",
        ]),
        .testTarget(name: "HTTPServerTests", dependencies: [
            "HTTPServer", "AutoencoderModel", "Scoring", "ScanJobs", "SlideReading",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "InferenceProtocolTests", dependencies: [
            "InferenceProtocol", "InferenceService", "AutoencoderModel", "ImageCodecs", "Scoring",
        ]),
        /// The gRPC endpoint on a loopback port through grpc-swift's real client, with the default model (models/default).
        .testTarget(name: "InferenceGRPCTests", dependencies: [
            "InferenceGRPC", "InferenceProtocol", "InferenceService", "AutoencoderModel", "ImageCodecs", "Scoring",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            .product(name: "MetricsTestKit", package: "swift-metrics"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "SlideReadingTests", dependencies: ["SlideReading", "ImageCodecs"]),
        /// Scans synthetic and shared slides with the default model (models/default).
        .testTarget(name: "SlideScanningTests", dependencies: [
            "SlideScanning", "SlideReading", "InferenceService", "Scoring", "AutoencoderModel", "ImageCodecs",
        ]),
        /// The job store on a real SQLite file, slide-root confinement, and jobs run on the shared slides.
        .testTarget(name: "ScanJobsTests", dependencies: [
            "ScanJobs", "SlideScanning", "InferenceService", "Scoring", "AutoencoderModel",
        ]),
        /// Runs the built `histoae` binary as a user would, on the other targets' fixtures.
        .testTarget(name: "histoaeTests", dependencies: ["histoae", "ImageCodecs", "Scoring", "AutoencoderModel"]),
    ]
)
