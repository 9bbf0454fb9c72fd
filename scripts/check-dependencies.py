#!/usr/bin/env python3
"""Checks that every target imports only what Package.swift declares for it, that every declared project
dependency is imported, and that dependencies point one way (README "Architecture"):

    C shims → ImageCodecs / TensorKernels / RequestParsing → AutoencoderModel → Scoring → SlideReading
            → InferenceService → SlideScanning → ScanJobs → HTTPServer → histoae
    InferenceService → InferenceProtocol → InferenceGRPC → HTTPServer

A module may import modules of lower layers only, and the command line (`histoae`) never reaches the kernels
or the C shims: it goes through the engine (InferenceService). Run by scripts/test.sh; exits 1 with one line
per problem.

    python3 scripts/check-dependencies.py
"""
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Project modules by layer; an import must point to a strictly lower layer.
LAYERS = {
    "COpenBLAS": 0, "CPNG": 0, "CJPEG": 0, "CCodecShims": 0, "CGEMMKernel": 0, "COpenSlide": 0,
    "ImageCodecs": 1, "TensorKernels": 1, "RequestParsing": 1,
    "AutoencoderModel": 2,
    "Scoring": 3,
    "SlideReading": 4,   # slides → tiles; uses Scoring's optical density for its tissue notion
    "InferenceService": 5,
    "SlideScanning": 6,  # whole-slide scans through the engine; `histoae scan` and the scan jobs use it
    "InferenceProtocol": 6,  # the Open Inference Protocol (KServe v2) over the engine, independent of transport
    "ScanJobs": 7,       # the service's scan jobs: SQLite records, slide-root confinement, the job runner
    "InferenceGRPC": 7,  # the Open Inference Protocol over gRPC: protobuf ↔ InferenceProtocol, the endpoint
    "HTTPServer": 8,
    "histoae": 9,
}
# Edges forbidden even though they point down: the command line reaches kernels only through the engine.
FORBIDDEN = {("histoae", m) for m in ("TensorKernels", "CGEMMKernel", "COpenBLAS", "CCodecShims", "CPNG", "CJPEG",
                                     "COpenSlide")}
# Modules of the toolchain, importable by any target without a declaration.
TOOLCHAIN = {"Foundation", "FoundationEssentials", "Dispatch", "Glibc", "Darwin", "Musl", "Testing", "XCTest",
             "Synchronization", "_Concurrency"}
IMPORT = re.compile(r"^\s*(?:@testable\s+|@_exported\s+)?(?:public\s+|internal\s+|package\s+|private\s+|fileprivate\s+)?"
                    r"import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)",
                    re.M)


def main() -> int:
    package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=ROOT, capture_output=True,
                                        text=True, check=True).stdout)
    problems = []
    for target in package["targets"]:
        name, kind = target["name"], target["type"]
        folder = ROOT / ("Tests" if kind == "test" else "Sources") / name
        declared_targets, declared_products = set(), set()
        for dependency in target.get("dependencies", []):
            if "byName" in dependency:
                declared_targets.add(dependency["byName"][0])
            elif "target" in dependency:
                declared_targets.add(dependency["target"][0])
            elif "product" in dependency:
                declared_products.add(dependency["product"][0])
        declared = declared_targets | declared_products
        imported: dict[str, str] = {}
        for source in sorted(folder.rglob("*.swift")):
            for module in IMPORT.findall(source.read_text()):
                imported.setdefault(module, str(source.relative_to(ROOT)))
        for module, where in sorted(imported.items()):
            if module in TOOLCHAIN or module == name:
                continue
            if module not in declared:
                problems.append(f"{where}: imports {module}, which {name} does not declare in Package.swift")
            if kind != "test" and module in LAYERS and name in LAYERS:
                if (name, module) in FORBIDDEN:
                    problems.append(f"{where}: {name} must not import {module} (only through the engine)")
                elif LAYERS[module] >= LAYERS[name]:
                    problems.append(f"{where}: {name} (layer {LAYERS[name]}) imports {module} (layer "
                                    f"{LAYERS[module]}): dependencies must point down")
        if kind != "test" and kind != "system-target":
            swift_sources = list(folder.rglob("*.swift"))
            for module in sorted(declared_targets):
                if swift_sources and module not in imported:
                    problems.append(f"Package.swift: {name} declares {module} but never imports it")
        if kind != "test" and kind != "system-target" and name not in LAYERS:
            problems.append(f"Package.swift: target {name} has no layer in scripts/check-dependencies.py")
    for line in problems:
        print(line)
    targets = len(package["targets"])
    print(f"check-dependencies: {'OK' if not problems else f'{len(problems)} problem(s)'} ({targets} targets)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
