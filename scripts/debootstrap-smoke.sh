#!/usr/bin/env bash
# On demand, not in CI (root, a Debian mirror, a few minutes): runs the release binary in a minimal Debian 12
# root — debootstrap's minbase, the variant debian:12-slim is made from — with ONLY the packages the
# Dockerfile's runtime stage installs, as the image's non-root user, and checks GET /healthz, /readyz and one
# POST /v1/score, then SIGTERM → exit 0. Proves what scripts/check-runtime-libs.sh infers from ldd.
#
#   scripts/debootstrap-smoke.sh [BINARY]     (default .build-static/release/histoae; build it first:
#                                              swift build -c release --product histoae --static-swift-stdlib \
#                                                --scratch-path .build-static)
# The mirror is the one this machine's apt uses (HISTOAE_DEBIAN_MIRROR overrides); HISTOAE_ROOTFS_KEEP=1 keeps
# the root folder for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${1:-.build-static/release/histoae}
[ -x "$binary" ] || { echo "debootstrap-smoke: $binary not built" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "debootstrap-smoke: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
command -v debootstrap >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }

mirror=${HISTOAE_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then  # the first main-archive URI of this machine's apt sources (deb822 or one-line)
  mirror=$(grep -h -m1 -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -n 1 || true)
  [ -n "$mirror" ] || mirror=$(grep -h -m1 -E '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' || true)
fi
[ -n "$mirror" ] || { echo "debootstrap-smoke: no Debian mirror found; set HISTOAE_DEBIAN_MIRROR" >&2; exit 2; }

packages=$(bash scripts/check-runtime-libs.sh --print-packages | paste -sd, -)
root=$(mktemp -d -t histoae-rootfs.XXXXXX)  # under $TMPDIR, default /tmp
chmod 0755 "$root"  # mktemp makes it 0700: the service user must reach /app
cleanup() {
  [ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || true
  [ "${HISTOAE_ROOTFS_KEEP:-0}" = 1 ] && echo "debootstrap-smoke: root kept at $root" || rm -rf "$root"
}
trap cleanup EXIT

echo "debootstrap-smoke: bookworm minbase + $packages → $root"
debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" > "$root.log" 2>&1 \
  || { tail -n 20 "$root.log"; exit 1; }
rm -f "$root.log"
install -D -m 0755 "$binary" "$root/app/bin/histoae"
install -D -m 0644 models/default/model.json "$root/app/models/default/model.json"
install -D -m 0644 models/default/model.safetensors "$root/app/models/default/model.safetensors"
chroot "$root" groupadd --system --gid 10001 histoae
chroot "$root" useradd --uid 10001 --gid histoae --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin histoae
mount -t proc proc "$root/proc"

echo "debootstrap-smoke: ldd inside the root"
chroot "$root" ldd /app/bin/histoae | sed 's/^/  /'
if chroot "$root" ldd /app/bin/histoae | grep -q 'not found'; then echo "FAIL: a library is missing"; exit 1; fi

port=$((20000 + RANDOM % 20000))
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HISTOAE_HOST=127.0.0.1 HISTOAE_PORT=$port HISTOAE_WORKERS=1 HISTOAE_CODEC_THREADS=1 \
  chroot --userspec=10001:10001 "$root" /app/bin/histoae serve > "$root/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$root/serve.log"; echo "FAIL: the server exited"; exit 1; }
  sleep 0.5
done
failures=0
check() { local label=$1; shift; if "$@"; then echo "  ok: $label"; else echo "  FAIL: $label"; failures=$((failures + 1)); fi; }
check "GET /healthz" curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz"
check "GET /readyz" curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz"
score=$(curl -fsS -H 'Content-Type: image/png' --data-binary @examples/patch0.png "http://127.0.0.1:$port/v1/score" || true)
check "POST /v1/score" grep -q '"score"' <<<"$score"
kill -TERM "$pid"
wait "$pid" && code=0 || code=$?
pid=
check "SIGTERM → exit 0" test "$code" -eq 0
sed 's/^/  server: /' "$root/serve.log" | tail -n 5
echo "debootstrap-smoke: $((4 - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
