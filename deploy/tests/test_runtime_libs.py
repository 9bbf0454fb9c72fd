"""scripts/check-runtime-libs.sh: passes on the real Dockerfile and release binary, and fails — naming the
package — when the runtime stage misses a library's package or installs one the binary does not use.

Two binaries: histoae (the one scripts/check-deploy.sh checked, HISTOAE_CHECKED_BIN; else the static release
build, else the debug build) and a small C probe compiled here that links the same C libraries (OpenBLAS,
libpng, libjpeg, OpenSlide), so the checker's logic is tested even without a histoae build.
"""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check-runtime-libs.sh"
DOCKERFILE = (ROOT / "Dockerfile").read_text()
RUNTIME_PACKAGES = ["libopenblas0-pthread", "libgfortran5", "libquadmath0", "libpng16-16", "libjpeg62-turbo",
                    "libopenslide0"]

PROBE_C = r"""
#include <stdio.h>
#include <png.h>
#include <jpeglib.h>
#include <cblas.h>
#include <openslide.h>
int main(void) {
    float a = 1, b = 2;
    struct jpeg_error_mgr e;
    jpeg_std_error(&e);
    printf("%g %s %s\n", cblas_sdot(1, &a, 1, &b, 1), png_get_libpng_ver(NULL), openslide_get_version());
    return 0;
}
"""


def run_check(binary, dockerfile_text, tmp_path, *extra):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(dockerfile_text)
    p = subprocess.run(["bash", str(SCRIPT), "--binary", str(binary), "--dockerfile", str(dockerfile), *extra],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def without(text, package):
    """The Dockerfile with one package's line removed from the runtime stage."""
    out, n = re.subn(rf"^\s+{re.escape(package)} \\\n", "", text, flags=re.MULTILINE)
    assert n == 1, f"{package} is not on a line of its own in the Dockerfile"
    return out


def with_extra(text, package):
    out, n = re.subn(r"(apt-get install -y --no-install-recommends \\\n)(?=\s+libopenblas0-pthread)",
                     rf"\1      {package} \\\n", text)
    assert n == 1
    return out


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    if not shutil.which("gcc") or not shutil.which("pkg-config"):
        pytest.skip("gcc/pkg-config not installed")
    d = tmp_path_factory.mktemp("probe")
    (d / "probe.c").write_text(PROBE_C)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "openblas", "libpng", "libjpeg", "openslide"],
                           capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["gcc", str(d / "probe.c"), "-o", str(d / "probe"), *flags], check=True)
    return d / "probe"


BUILDS = [ROOT / ".build-static" / "release" / "histoae", ROOT / ".build" / "release" / "histoae",
          ROOT / ".build" / "debug" / "histoae"]


@pytest.fixture(scope="module")
def release_binary():
    """The histoae binary to check (the fixture keeps its historical name: the release one when built)."""
    candidates = [os.environ.get("HISTOAE_CHECKED_BIN", "")] + [str(b) for b in BUILDS]
    path = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
    if path is None:
        pytest.skip("no histoae build (scripts/test.sh or scripts/check-deploy.sh --release builds one)")
    return path


def c_libraries(binary):
    """The non-Swift shared libraries ldd lists, by soname."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)(?: => (\S+))? \(0x", line)
        if m and "linux-vdso" not in m.group(1) and "/lib/swift/" not in (m.group(2) or ""):
            names.add(os.path.basename(m.group(1)))
    return names


def test_every_build_links_the_same_c_libraries():
    """Why checking the debug build stands for the image's release build: same C libraries, only the Swift
    runtime differs (dynamic from the toolchain vs linked in)."""
    built = [b for b in BUILDS if os.access(b, os.X_OK)]
    if len(built) < 2:
        pytest.skip("needs two of .build-static/release, .build/release, .build/debug")
    sets = {str(b.relative_to(ROOT)): c_libraries(b) for b in built}
    first = next(iter(sets.values()))
    assert all(v == first for v in sets.values()), sets
    assert {"libopenblas.so.0", "libpng16.so.16", "libjpeg.so.62"} <= first


def test_swift_runtime_needs_the_static_build(release_binary, tmp_path):
    if "/lib/swift/" not in subprocess.run(["ldd", release_binary], capture_output=True, text=True).stdout:
        pytest.skip(f"{release_binary} has the Swift runtime linked in")
    code, out = run_check(release_binary, DOCKERFILE.replace(" --static-swift-stdlib", ""), tmp_path)
    assert code == 1 and "needs the Swift runtime" in out, out


def test_the_dockerfile_lists_the_packages_one_per_line():
    for package in RUNTIME_PACKAGES:
        assert re.search(rf"^\s+{re.escape(package)} \\$", DOCKERFILE, re.MULTILINE), package


def test_release_binary_and_dockerfile_agree(release_binary, tmp_path):
    code, out = run_check(release_binary, DOCKERFILE, tmp_path)
    assert code == 0, out
    assert "OK" in out


@pytest.mark.parametrize("package", RUNTIME_PACKAGES)
def test_release_binary_fails_when_a_package_is_missing(release_binary, tmp_path, package):
    code, out = run_check(release_binary, without(DOCKERFILE, package), tmp_path)
    assert code == 1, out
    assert f"missing: {package}" in out


def test_probe_passes_with_the_dockerfile(probe, tmp_path):
    code, out = run_check(probe, DOCKERFILE, tmp_path)
    assert code == 0, out
    # Symlinks and Debian's alternatives are followed to the owning package.
    assert re.search(r"libopenblas\.so\.0\s+libopenblas0-pthread\s+installed", out), out
    assert re.search(r"libc\.so\.6\s+libc6\s+base", out), out


@pytest.mark.parametrize("package", ["libpng16-16", "libopenblas0-pthread", "libgfortran5"])
def test_probe_fails_when_a_package_is_missing(probe, tmp_path, package):
    code, out = run_check(probe, without(DOCKERFILE, package), tmp_path)
    assert code == 1, out
    assert f"FAIL: missing: {package}" in out


@pytest.mark.parametrize("package,why", [("curl", "no library of the binary comes from it"),
                                         ("libc6", "a base package"),
                                         ("libopenblas0-openmp", "no library of the binary comes from it")])
def test_fails_on_an_unused_package(probe, tmp_path, package, why):
    code, out = run_check(probe, with_extra(DOCKERFILE, package), tmp_path)
    assert code == 1, out
    assert f"FAIL: unused: {package}" in out and why in out


def test_only_the_runtime_stage_counts(probe, tmp_path):
    # The build stage installs -dev packages; moving the runtime install into another stage must fail.
    text = DOCKERFILE.replace("AS runtime", "AS other")
    code, out = run_check(probe, text, tmp_path)
    assert code != 0 and "no stage" in out
    code, out = run_check(probe, text, tmp_path, "--stage", "other")
    assert code == 0, out


def test_version_pins_and_comments_are_understood(probe, tmp_path):
    # OpenSlide and the libraries it loads, as the Dockerfile lists them (after the five written out here).
    listed = subprocess.run(["bash", str(SCRIPT), "--print-packages"], capture_output=True, text=True, check=True)
    openslide = " ".join(p for p in listed.stdout.split() if p not in RUNTIME_PACKAGES[:5])
    text = f"""FROM debian:12.12-slim AS runtime
# a comment
RUN apt-get update \\
 && apt-get install -y --no-install-recommends \\
      libopenblas0-pthread=0.3.21+ds-4 \\
      # a comment inside the command
      libgfortran5 libquadmath0 \\
      libpng16-16/bookworm \\
      libjpeg62-turbo \\
      {openslide} \\
 && rm -rf /var/lib/apt/lists/*
"""
    code, out = run_check(probe, text, tmp_path)
    assert code == 0, out


def test_a_stage_without_apt_get_install_is_refused(probe, tmp_path):
    code, out = run_check(probe, "FROM debian:12.12-slim AS runtime\nCOPY x /x\n", tmp_path)
    assert code != 0 and "runs no apt-get install" in out
