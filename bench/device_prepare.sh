#!/usr/bin/env bash
# Prepares, on this (network-connected) machine, what bench/device_check.sh needs on a device machine that
# reaches nothing: the Deno binary (≈ 96 MB, over the device tool's 64 MiB carry limit, so xz-compressed to
# ≈ 30 MB), the npm part of Deno's cache (the lock's packages), and the Vulkan/EGL loader packages a bare
# device image may lack. Everything goes into .carry/ and .gl/, both git-ignored, then carried:
#
#   bench/device_prepare.sh
#   device run, carry [".carry", ".gl"], timeout_s 600:
#     bash bench/device_check.sh 2>&1 | tee $OUT/device_check.log      (add --small to shrink the shapes)
#
# Needs xz, tar, apt-get (for .gl; skipped with --no-gl) and the Deno of tools/ (npm ci --prefix tools).
set -euo pipefail
cd "$(dirname "$0")/.."
DENO=tools/node_modules/deno/deno
[ -x "$DENO" ] || { echo "no $DENO: run npm ci --prefix tools first" >&2; exit 1; }
mkdir -p .carry
echo "compressing the Deno binary ($(du -h "$DENO" | cut -f1))"
xz -T0 -9 -c "$DENO" > .carry/deno.xz
# The npm cache of the lock's packages: fill it (a no-op when warm), then pack the cache's npm folder.
"$DENO" install --frozen >/dev/null
DIR=$("$DENO" info --json | sed -n 's/.*"npmCache": *"\([^"]*\)".*/\1/p')
[ -d "$DIR" ] || { echo "cannot find Deno's npm cache (deno info --json)" >&2; exit 1; }
tar -C "$(dirname "$DIR")" -cf - "$(basename "$DIR")" | xz -T0 -9 > .carry/deno_npm.tar.xz
if [ "${1:-}" != "--no-gl" ]; then
  # The loaders (not the NVIDIA driver, which the device image mounts): as the device tool's README says.
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
fi
du -ch .carry/* .gl/* 2>/dev/null | tail -n 20
echo "tracked tree: $(git ls-files -z | du -ch --files0-from=- | tail -1 | cut -f1) (the whole call must stay under 64 MiB)"
