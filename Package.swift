// swift-tools-version:6.1
// HistoAE: dependencies point one way —
// C shims → ImageCodecs → TensorKernels → AutoencoderModel → (Scoring → Server) → `histoae`.
import PackageDescription

/// The kernels' loops vectorize with AVX2 + FMA (any x86-64 server since 2013); baseline SSE2 elsewhere.
#if arch(x86_64)
let kernelFlags = ["-Ounchecked", "-target-cpu", "haswell"]
#else
let kernelFlags = ["-Ounchecked"]
#endif

let package = Package(
    name: "HistoAE",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "histoae", targets: ["histoae"]),
        .library(name: "AutoencoderModel", targets: ["AutoencoderModel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: C shims (Debian -dev packages, found by pkg-config)
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"])]),
        /// Owns libpng's and libjpeg's setjmp/longjmp error paths so a corrupt file is a return code, never exit().
        .target(name: "CCodecShims", dependencies: ["CPNG", "CJPEG"]),

        // MARK: Swift modules
        .target(name: "ImageCodecs", dependencies: ["CCodecShims"]),
        .target(name: "TensorKernels", dependencies: ["COpenBLAS"],
                swiftSettings: [.unsafeFlags(kernelFlags)]),
        .target(name: "AutoencoderModel", dependencies: ["TensorKernels", "ImageCodecs"]),
        .target(name: "Scoring", dependencies: ["AutoencoderModel", "ImageCodecs", "TensorKernels"]),
        .executableTarget(name: "histoae", dependencies: [
            "AutoencoderModel", "ImageCodecs", "TensorKernels", "Scoring",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: Tests mirror the modules
        .testTarget(name: "ImageCodecsTests", dependencies: ["ImageCodecs"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "TensorKernelsTests", dependencies: ["TensorKernels"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "AutoencoderModelTests", dependencies: ["AutoencoderModel"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ScoringTests", dependencies: ["Scoring"],
                    resources: [.copy("Fixtures")]),
        /// Runs the built `histoae` binary as a user would, on the other targets' fixtures.
        .testTarget(name: "histoaeTests", dependencies: ["histoae"]),
    ]
)
