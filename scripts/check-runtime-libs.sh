#!/usr/bin/env bash
# Proves the Dockerfile's runtime stage is complete and minimal: every shared library the release binary loads
# (ldd) is mapped to the Debian package that owns it (dpkg -S, following symlinks and Debian's alternatives, and
# the /lib ↔ /usr/lib merge); that set, less the packages every debian:12-slim image already has, must equal the
# packages the runtime stage's `apt-get install` names — nothing missing, nothing unused.
#
#   scripts/check-runtime-libs.sh [--binary PATH] [--dockerfile PATH] [--stage NAME]
#
#   --binary      the binary to inspect (default: $HISTOAE_RELEASE_BIN, else .build-static/release/histoae,
#                 built like the Dockerfile builds it: release, Swift runtime linked statically)
#   --dockerfile  default: Dockerfile (repository root)
#   --stage       the runtime stage's name (`FROM ... AS NAME`; default: runtime)
#   --print-packages  only print the packages the runtime stage installs, one per line (for other scripts)
#
# Base packages (present in every debian:12-slim image, so counted as installed): the ones in BASE_PACKAGES
# below; each is verified on this machine to be Priority "required" or a direct dependency of apt or dpkg,
# the two programs every Debian image carries. Exit 0: complete and minimal; 1: a mismatch (each one named);
# 2: usage or a library no Debian package owns.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${HISTOAE_RELEASE_BIN:-.build-static/release/histoae}
dockerfile=Dockerfile
stage=runtime
print_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --dockerfile) dockerfile=$2; shift 2 ;;
    --stage) stage=$2; shift 2 ;;
    --print-packages) print_only=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check-runtime-libs: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$print_only" -eq 1 ] || [ -x "$binary" ] || { echo "check-runtime-libs: $binary: no such executable (build it: scripts/check-deploy.sh does)" >&2; exit 2; }
[ -r "$dockerfile" ] || { echo "check-runtime-libs: $dockerfile: cannot read" >&2; exit 2; }

# libc6, libgcc-s1: Priority required. libstdc++6: a dependency of apt. zlib1g: a pre-dependency of dpkg.
BASE_PACKAGES="libc6 libgcc-s1 libstdc++6 zlib1g"

exec python3 - "$binary" "$dockerfile" "$stage" "$BASE_PACKAGES" "$print_only" <<'PY'
import os, re, shlex, subprocess, sys

binary, dockerfile, stage, base = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
print_only = sys.argv[5] == "1"

def run(*cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout

# --- 1. the runtime stage's apt-get install ---------------------------------------------------------------
text = open(dockerfile, encoding="utf-8").read()
logical = []  # Dockerfile instructions with continuations joined, comments dropped
current = ""
for raw in text.splitlines():
    s = raw.strip()
    if not current and (not s or s.startswith("#")):
        continue
    if current and s.startswith("#"):
        continue  # a comment line inside a continued instruction
    if s.endswith("\\"):
        current += s[:-1] + " "
    else:
        logical.append(current + s)
        current = ""
if current:
    logical.append(current)

in_stage, found_stage, installed, install_cmds = False, False, [], 0
# The Swift runtime: a binary built without --static-swift-stdlib (e.g. the debug build the tests use) loads it
# from the toolchain; the image's binary has it linked in when a stage builds with --static-swift-stdlib.
static_swift = any(i.split(None, 1)[0].upper() == "RUN" and "swift build" in i and "--static-swift-stdlib" in i
                   for i in logical)
for instr in logical:
    head = instr.split(None, 1)[0].upper()
    if head == "FROM":
        m = re.search(r"\s+AS\s+(\S+)\s*$", instr, re.IGNORECASE)
        in_stage = bool(m) and m.group(1).lower() == stage.lower()
        found_stage = found_stage or in_stage
        continue
    if not in_stage or head != "RUN":
        continue
    for command in re.split(r"&&|\|\||;|\|", instr[3:]):
        words = shlex.split(command, comments=False)
        for i, w in enumerate(words):
            if w in ("apt-get", "apt") and "install" in words[i + 1:]:
                install_cmds += 1
                args = words[words.index("install", i) + 1:]
                installed += [re.split(r"[=/]", a)[0] for a in args if not a.startswith("-")]
                break
if not found_stage:
    sys.exit(f"check-runtime-libs: {dockerfile} has no stage `FROM ... AS {stage}`")
if install_cmds == 0:
    sys.exit(f"check-runtime-libs: the stage {stage} of {dockerfile} runs no apt-get install")

if print_only:
    print("\n".join(installed))
    sys.exit(0)

# --- 2. the base packages really are in every Debian image -------------------------------------------------
_, essentials = run("dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}, ", "apt", "dpkg")
essential_deps = {re.split(r"[ :(]", d.strip())[0] for alt in essentials.split(",") for d in alt.split("|") if d.strip()}
_, listing = run("dpkg-query", "-W", "-f=${Package} ${Priority}\\n", *base)
priorities = dict(line.split(None, 1) for line in listing.splitlines() if " " in line)
for pkg in base:
    if priorities.get(pkg, "").strip() != "required" and pkg not in essential_deps:
        sys.exit(f"check-runtime-libs: base package {pkg} is neither Priority required nor a dependency of "
                 f"apt/dpkg: it may be missing from debian:12-slim — install it in the runtime stage instead")

# --- 3. ldd: every library the loader maps ---------------------------------------------------------------
code, out = run("ldd", binary)
if code != 0:
    sys.exit(f"check-runtime-libs: ldd {binary} failed (not a dynamic executable?)")
libraries = []  # (soname, path)
for line in out.splitlines():
    line = line.strip()
    if "=> not found" in line:
        sys.exit(f"check-runtime-libs: {line}: this machine lacks a library the binary needs")
    m = re.match(r"(\S+) => (/\S+) \(0x", line) or re.match(r"((/\S+)) \(0x", line)
    if m:  # linux-vdso.so.1 (in the kernel) has no path and no package
        libraries.append((os.path.basename(m.group(1)), m.group(2)))

def candidates(path):
    """The path, each symlink hop (Debian's alternatives: /lib/x86_64-linux-gnu/libopenblas.so.0 →
    /etc/alternatives/… → …/openblas-pthread/…), the real path, and the /usr-merge twin of each."""
    found, seen, p = [], set(), path
    for _ in range(16):
        if p in seen:
            break
        seen.add(p)
        found.append(p)
        if not os.path.islink(p):
            break
        p = os.path.normpath(os.path.join(os.path.dirname(p), os.readlink(p)))
    found.append(os.path.realpath(path))
    for c in list(found):
        if c.startswith(("/usr/lib/", "/usr/lib64/")):
            found.append(c[len("/usr"):])
        elif c.startswith(("/lib/", "/lib64/")):
            found.append("/usr" + c)
    return list(dict.fromkeys(found))

# One dpkg-query for every candidate path (it exits 1 when some are unowned, and prints the owned ones).
all_paths = sorted({c for _, path in libraries for c in candidates(path)})
_, out = run("dpkg-query", "-S", *all_paths) if all_paths else (0, "")
owners = {}
for line in out.splitlines():
    pkgs, sep, owned = line.partition(": ")
    if sep and not pkgs.startswith("diversion by"):
        owners.setdefault(owned.strip(), pkgs.split(",")[0].strip().split(":")[0])

def owner(path):
    return next((owners[c] for c in candidates(path) if c in owners), None)

needed = {}  # package → [sonames]
unowned, swift_runtime = [], []
rows = []
for soname, path in libraries:
    pkg = owner(path)
    if pkg is None and "/lib/swift/linux/" in os.path.realpath(path):
        swift_runtime.append(soname)
        pkg = "(Swift runtime)"
    rows.append((soname, os.path.realpath(path), pkg or "?"))
    if pkg is None:
        unowned.append(f"{soname} ({path})")
    elif pkg != "(Swift runtime)":
        needed.setdefault(pkg, []).append(soname)

# --- 4. compare -------------------------------------------------------------------------------------------
width = max(len(r[0]) for r in rows) if rows else 10
print(f"check-runtime-libs: {binary}: {len(rows)} shared libraries")
for soname, real, pkg in rows:
    if pkg == "(Swift runtime)":
        tag = "static" if static_swift else "MISSING"
    else:
        tag = "base" if pkg in base else ("installed" if pkg in installed else "MISSING")
    print(f"  {soname:<{width}}  {pkg:<22} {tag:<9}  {real}")
print(f"  base packages of debian:12-slim, present without installing: {' '.join(base)}")
print(f"  the stage {stage} of {dockerfile} installs: {' '.join(installed) or '(nothing)'}")

required = set(needed) - set(base)
missing = sorted(required - set(installed))
unused = sorted(set(installed) - required)
failed = False
if swift_runtime:
    if static_swift:
        print(f"  this binary loads the Swift runtime from the toolchain ({len(swift_runtime)} libraries); the image's "
              f"binary has it linked in (--static-swift-stdlib in {dockerfile}), so the runtime stage needs none of them")
    else:
        print("FAIL: the binary needs the Swift runtime (" + ", ".join(swift_runtime) + ") but no stage of "
              f"{dockerfile} builds with --static-swift-stdlib, and no Debian package provides it")
        failed = True
if unowned:
    print("FAIL: libraries no Debian package owns: " + ", ".join(unowned))
    failed = True
for pkg in missing:
    print(f"FAIL: missing: {pkg} (provides {', '.join(needed[pkg])}) is not installed by the stage {stage}")
    failed = True
for pkg in unused:
    why = "a base package, already in the image" if pkg in base else "no library of the binary comes from it"
    print(f"FAIL: unused: {pkg} is installed by the stage {stage} but {why}")
    failed = True
if failed:
    sys.exit(2 if unowned and not (missing or unused) else 1)
print(f"check-runtime-libs: OK — the runtime stage installs exactly {', '.join(sorted(required))}")
PY
