#!/usr/bin/env bash
# Builds libpng and libjpeg-turbo from Debian's source packages (the versions the service links) with
# libFuzzer's coverage instrumentation and ASan, so the fuzzer is guided by the libraries' branches too:
#   Fuzz/build-deps.sh OUT_DIR        → OUT_DIR/{include,lib}, and OUT_DIR/ready naming what was built
# Called by scripts/fuzz.sh. Needs apt (source packages; it adds a deb-src entry mirroring the deb one when
# none exists), cmake and dpkg-dev. Exits non-zero when the sources cannot be had; fuzz.sh then links the
# system libraries (uninstrumented) and says so.
set -euo pipefail
out=$(mkdir -p "$1" && cd "$1" && pwd)
src="$out/src"
cc=${CC:-clang}
cflags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address"
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"

install_missing() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "build-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A deb-src twin of each deb entry, only when apt knows no source at all (deb822 .sources or one-line lists).
enable_deb_src() {
  apt-cache showsrc zlib 2>/dev/null | grep -q '^Package:' && return 0
  local target=/etc/apt/sources.list.d/histoae-fuzz-src
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | $sudo tee "$target.sources" >/dev/null
  else
    grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | sed 's/^deb /deb-src /' | $sudo tee "$target.list" >/dev/null
  fi
  $sudo apt-get update -qq
}

# apt-get source PACKAGE into DIR; the newest version may be listed yet missing from a mirror (a security
# update), so older listed versions are tried in turn.
fetch_source() {
  local package=$1 dir=$2
  [ -d "$dir" ] && return 0
  mkdir -p "$src/dl-$package" && cd "$src/dl-$package"
  local versions
  versions=$(apt-cache showsrc "$package" | sed -n 's/^Version: //p' | sort -rV | uniq)
  for v in $versions; do
    if apt-get source -qq --download-only "$package=$v" >/dev/null 2>&1; then
      dpkg-source -x --no-check "${package}_${v#*:}.dsc" "$dir" >/dev/null
      echo "$package $v" >>"$out/versions"
      return 0
    fi
  done
  echo "build-deps: no source of $package could be downloaded" >&2
  return 1
}

install_missing cmake dpkg-dev zlib1g-dev
enable_deb_src
mkdir -p "$src" "$out/include" "$out/lib"
rm -f "$out/versions" "$out/ready"
fetch_source libpng1.6 "$src/libpng"
fetch_source libjpeg-turbo "$src/libjpeg-turbo"

echo "build-deps: libpng (instrumented)"
(cd "$src/libpng" \
  && CC="$cc" CFLAGS="$cflags" ./configure -q --disable-shared --enable-static --prefix="$out" >/dev/null \
  && make -s -j"$(nproc)" libpng16.la >/dev/null 2>&1 \
  && cp .libs/libpng16.a "$out/lib/" && cp png.h pngconf.h pnglibconf.h "$out/include/")

# No SIMD: its assembly would be invisible to the fuzzer and to ASan; the C paths decode the same streams.
echo "build-deps: libjpeg-turbo (instrumented, WITH_SIMD=0)"
mkdir -p "$src/libjpeg-turbo/build"
(cd "$src/libjpeg-turbo/build" \
  && cmake .. -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="$cflags" \
       -DENABLE_SHARED=0 -DENABLE_STATIC=1 -DWITH_SIMD=0 -DWITH_TURBOJPEG=0 >/dev/null \
  && make -s -j"$(nproc)" jpeg-static >/dev/null 2>&1 \
  && cp libjpeg.a "$out/lib/" && cp jconfig.h ../jpeglib.h ../jmorecfg.h ../jerror.h "$out/include/")

cp "$out/versions" "$out/ready"
echo "build-deps: built $(tr '\n' ' ' <"$out/ready")"
