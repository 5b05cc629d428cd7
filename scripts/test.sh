#!/usr/bin/env bash
# The whole test suite: installs what the tests need (Debian packages, the browser driver from
# npm), then runs every Rust test, including the ones that drive real peers (Chromium, ffmpeg).
set -euo pipefail
cd "$(dirname "$0")/.."

# Real peers the tests talk to, from Debian's packages.
need_pkgs=()
command -v chromium >/dev/null || need_pkgs+=(chromium)
command -v ffmpeg >/dev/null || need_pkgs+=(ffmpeg)
command -v mpv >/dev/null || need_pkgs+=(mpv)   # funnel HLS tests: mpv plays through the funnel
# nginx as the cache in front of LL-HLS (crates/live-http/tests/hls.rs).
command -v nginx >/dev/null || need_pkgs+=(nginx-light)
command -v node >/dev/null || need_pkgs+=(nodejs npm)
# Build-time: ALSA headers for the microphone feature (cpal), nasm for openh264's fast paths.
dpkg -s libasound2-dev >/dev/null 2>&1 || need_pkgs+=(libasound2-dev)
command -v nasm >/dev/null || need_pkgs+=(nasm)
# The desktop window's test runs the real binary under Xvfb with Mesa's software GL, reads the
# screen with ffmpeg and tesseract, clicks with xdotool; winit loads the X client libraries.
command -v Xvfb >/dev/null || need_pkgs+=(xvfb)
command -v xdotool >/dev/null || need_pkgs+=(xdotool)
command -v tesseract >/dev/null || need_pkgs+=(tesseract-ocr)
for p in libgl1-mesa-dri libegl1 libgl1 libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "installing ${need_pkgs[*]} ..." >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_pkgs[@]}"
fi

# playwright-core drives Debian's chromium; it downloads no browser of its own. The same lock
# pins hls.js, whose file web/vendor/ holds (a test checks they are the same bytes).
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

# aiortc (PyPI, with PyAV) is the non-browser WebRTC viewer of the WHEP tests; it lives in a
# venv beside the build output, where crates/live-http/tests/whep.rs looks for it.
command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null || need_py=1
if [ -n "${need_py:-}" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3 python3-venv
fi
venv="${CARGO_TARGET_DIR:-target}/aiortc-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import aiortc' 2>/dev/null || "$venv/bin/pip" install -q "aiortc==1.16.*"

# With microphones (the `mic` feature) on: that is what users who install the package get.
cargo test --workspace --locked --features homestream/mic "$@"
