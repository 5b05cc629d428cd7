#!/usr/bin/env bash
# WebRTC (WHEP) and LL-HLS from the same encode, measured in one run, side by side:
#   - WebRTC glass-to-glass latency p50/p95 of homestream's `test` stream, read by the
#     non-browser aiortc viewer (tests/webrtc/whep_viewer.py: decode time of a frame minus the
#     capture time in its timecode block), and the same viewer against the reference WebRTC
#     server: aiortc serving the same timecode block over WHEP (bench/webrtc/aiortc_whep.py)
#   - the same in headless Chromium (tests/browser/live_webrtc.mjs: display time minus capture
#     time), the page picking WebRTC by itself
#   - LL-HLS glass-to-glass latency in headless Chromium (hls.js, ?via=hls)
#   - server CPU (% of one core, /proc/PID/stat) and RSS with 1, 10 and 100 WebRTC viewers,
#     from the str0m load client (crates/live-http/examples/whep_load.rs: no decoding; it
#     prints each session's frame rate, so the table shows every viewer got the stream)
# Targets: WebRTC p95 < 100 ms (non-browser), < 150 ms (Chromium); LL-HLS p95 < 1.5 s;
# 100 viewers of 720p30 under one core (MediaMTX users report 150 viewers taking 3 cores).
#
#   bash bench/webrtc/run.sh               # SECS=20 per step, 1280x720@30
#   SECS=8 NS="1 10" bash bench/webrtc/run.sh
#   NO_BUILD=1 HS_BIN=... HS_LOAD_BIN=... bash bench/webrtc/run.sh   # binaries built already
#   LOAD_SOURCE=noise bash bench/webrtc/run.sh
#     the 1/10/100-viewer steps read a second stream instead: JPEGs of the test pattern under
#     noise (made here by ffmpeg) at 2.5 Mbit/s, what a busy camera picture costs to send (the
#     plain test pattern encodes to about 420 kbit/s); the latency steps keep the timecoded one
#
# Everything runs in a private network namespace holding only loopback (`unshare --net`, as
# root): Chromium's WebRTC needs that to use loopback, and no candidate can lead elsewhere.
# Needs: cargo, nasm (build time), the aiortc venv scripts/test.sh makes, node +
# tests/browser/node_modules, chromium, util-linux unshare, iproute2.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${SECS:-20}
RES=${RES:-1280x720}
FPS=${FPS:-30}
PORT=${PORT:-18390}
NS=${NS:-"1 10 100"}
TARGET=${CARGO_TARGET_DIR:-target}
PY=${HS_AIORTC_PYTHON:-$TARGET/aiortc-venv/bin/python}

if [ -z "${HS_BENCH_NETNS:-}" ]; then
  command -v nasm >/dev/null || echo "warning: nasm is not installed: openh264 is built without its assembly (about 3x slower)" >&2
  [ -x "$PY" ] || { echo "no aiortc venv at $PY (bash scripts/test.sh makes it)" >&2; exit 1; }
  (cd tests/browser && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
  if [ -z "${NO_BUILD:-}" ]; then
    echo "== building (release)" >&2
    cargo build --release -q -p homestream --no-default-features
    cargo build --release -q -p homestream-live-http --example whep_load
  fi
  exec unshare --net env HS_BENCH_NETNS=1 bash "$0" "$@"
fi

ip link set lo up
HS=${HS_BIN:-$TARGET/release/homestream}
LOAD=${HS_LOAD_BIN:-$TARGET/release/examples/whep_load}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || true
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }
W=${RES%x*}
H=${RES#*x}

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$TMP/empty"
LOAD_STREAM=test
EXTRA=()
if [ "${LOAD_SOURCE:-}" = noise ]; then
  mkdir -p "$TMP/noise"
  ffmpeg -v error -f lavfi -i "testsrc2=size=$RES:rate=$FPS" -vf "noise=alls=25:allf=t+u" \
    -frames:v $((FPS * 2)) -q:v 3 "$TMP/noise/f%03d.jpg"
  EXTRA=(--live "load=jpegs:$TMP/noise@$FPS?bitrate=2500k")
  LOAD_STREAM=load
fi
RUST_LOG=warn "$HS" serve "$TMP/empty" --bind 127.0.0.1 --port "$PORT" --webrtc-port $((PORT + 1)) \
  --live "test=test:$RES@$FPS" "${EXTRA[@]}" >"$TMP/hs.log" 2>&1 &
HSPID=$!; PIDS+=("$HSPID")
wait_port "$PORT"
BASE="http://127.0.0.1:$PORT/live/test"

echo "== WebRTC, aiortc viewer -> homestream, $SECS s" >&2
"$PY" tests/webrtc/whep_viewer.py "$BASE/whep" "$SECS" >"$TMP/hs_viewer.json"

echo "== WebRTC, aiortc viewer -> aiortc server (reference), $SECS s" >&2
"$PY" bench/webrtc/aiortc_whep.py $((PORT + 2)) "$W" "$H" >"$TMP/ref.log" 2>&1 &
REF=$!; PIDS+=("$REF")
wait_port $((PORT + 2))
"$PY" tests/webrtc/whep_viewer.py "http://127.0.0.1:$((PORT + 2))/live/test/whep" "$SECS" >"$TMP/ref_viewer.json"
kill "$REF"; wait "$REF" 2>/dev/null || true

echo "== WebRTC in headless Chromium (the page picks it), $SECS s" >&2
node tests/browser/live_webrtc.mjs "$BASE/" "$SECS" >"$TMP/chromium.json" || echo '{}' >"$TMP/chromium.json"

echo "== LL-HLS in headless Chromium (hls.js, ?via=hls), $SECS s" >&2
node tests/browser/live_mse.mjs "$BASE/?via=hls" "$SECS" >"$TMP/hls.json" || echo '{}' >"$TMP/hls.json"

# With LOAD_SOURCE the test stream's encoder stops first (10 s grace after its last viewer).
[ "$LOAD_STREAM" = test ] || sleep 11
for n in $NS; do
  echo "== $n WebRTC viewers (str0m load client, stream $LOAD_STREAM), $SECS s" >&2
  "$LOAD" "http://127.0.0.1:$PORT/live/$LOAD_STREAM/whep" "$n" --secs "$SECS" --warmup 3 --pids "$HSPID" >"$TMP/load_$n.json" || echo '{}' >"$TMP/load_$n.json"
  sleep 2
done

LOAD_AT_END=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$TMP" "$RES@$FPS" "$NS" "$LOAD_AT_START" "$LOAD_AT_END" "$(nproc)" "$LOAD_STREAM" <<'PY'
import json, os, sys
tmp, src, ns = sys.argv[1], sys.argv[2], sys.argv[3].split()
print(f"machine: {sys.argv[6]} cores, load average {sys.argv[4]} at the start, {sys.argv[5]} at the end "
      "(other work on the machine shares the cores with every number below)")
def load(name):
    try:
        return json.load(open(os.path.join(tmp, name)))
    except (OSError, ValueError):
        return {}
f = lambda x, d=0: "-" if x is None else f"{x:.{d}f}"
print(f"source: test:{src}, one encode shared by every output")
if sys.argv[7] != "test":
    print(f"viewer steps: stream 'load', the test pattern under noise as JPEGs, {src}, 2.5 Mbit/s")
print()
print(f"{'glass-to-glass latency':<44}{'frames':>8}{'fps':>7}{'p50 ms':>9}{'p95 ms':>9}{'target p95':>12}")
rows = [
    ("WebRTC homestream (aiortc viewer)", load("hs_viewer.json"), "< 100"),
    ("WebRTC aiortc server (aiortc viewer)", load("ref_viewer.json"), "(reference)"),
    ("WebRTC homestream (Chromium, page's pick)", load("chromium.json"), "< 150"),
    ("LL-HLS homestream (Chromium, hls.js)", load("hls.json").get("first", {}), "< 1500"),
]
for name, j, target in rows:
    print(f"{name:<44}{j.get('frames', 0):>8}{f(j.get('fps'), 1):>7}{f(j.get('latencyP50')):>9}{f(j.get('latencyP95')):>9}{target:>12}")
hs, ref = load("hs_viewer.json"), load("ref_viewer.json")
if hs.get("latencyP95") and ref.get("latencyP95"):
    print(f"homestream / aiortc: p50 {hs['latencyP50'] / ref['latencyP50']:.2f}x, p95 {hs['latencyP95'] / ref['latencyP95']:.2f}x "
          f"(aiortc viewer, same machine, same run)")
ch = load("chromium.json")
if ch:
    print(f"Chromium: transport {ch.get('page', {}).get('transport')}, tried {ch.get('page', {}).get('tried')}, "
          f"page readout '{ch.get('page', {}).get('readout')}'")
hj = load("hls.json").get("first", {})
if hj:
    print(f"LL-HLS: played by {hj.get('page', {}).get('engine')}, first picture {f(hj.get('firstFrameAt'))} ms")
print()
print(f"{'WebRTC viewers':<16}{'connected':>10}{'fps min':>9}{'fps med':>9}{'audio/s min':>12}{'kbit/s':>8}{'delay p50':>10}{'delay p95':>10}{'cpu %':>8}{'rss MiB':>9}")
for n in ns:
    j = load(f"load_{n}.json")
    if not j.get("viewers"):
        print(f"{n:<16} (no result)")
        continue
    print(f"{n:<16}{j['connected']:>10}{f(j['fps_min'], 1):>9}{f(j['fps_median'], 1):>9}{f(j['audio_fps_min'], 1):>12}{f(j['kbit_s_median']):>8}"
          f"{f(j['delay_p50_ms']):>10}{f(j['delay_p95_ms']):>10}{f(j['server_cpu_pct'], 1):>8}{j['server_rss_kib'] / 1024:>9.1f}")
    if j.get("join_errors"):
        print(f"  join errors: {j['join_errors'][:3]}")
print("delay = arrival of a frame at the load client minus its capture time (RTP time + X-Media-Epoch-Ms): encode + send, no decode")
print("cpu % is of one core, encode included (one openh264 encode for all); target: 100 viewers of 720p30 < 100 %")
one, many = load(f"load_{ns[0]}.json") if ns else {}, load(f"load_{ns[-1]}.json") if ns else {}
if len(ns) > 1 and one.get("server_cpu_pct") is not None and many.get("server_cpu_pct") is not None:
    k = int(ns[-1]) - int(ns[0])
    print(f"each viewer past the first: {(many['server_cpu_pct'] - one['server_cpu_pct']) / k:.2f} % of a core, "
          f"{(many['server_rss_kib'] - one['server_rss_kib']) / 1024 / k:.2f} MiB")
PY
