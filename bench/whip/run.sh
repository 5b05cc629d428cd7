#!/usr/bin/env bash
# Publisher-to-viewer latency of a WHIP publish, in one run, side by side:
#   - through homestream: aiortc publisher (tests/webrtc/whip_publisher.py, 640x360@30 test
#     pattern with the timecode block) -> POST /live/cam/whip -> homestream -> WHEP ->
#     aiortc viewer (tests/webrtc/whep_viewer.py), latency = viewer's decode time minus the
#     capture time in the frame's timecode
#   - direct: the same aiortc publisher to an aiortc receiver, no server (bench/whip/direct.py)
# Target: homestream adds less than 30 ms at p95.
#
#   bash bench/whip/run.sh            # SECS=20, release build
#   PROFILE=debug bash bench/whip/run.sh   # the dev build (dependencies optimized, the
#                                          # workspace not): when a release build is too slow
# Needs: cargo, the aiortc venv scripts/test.sh makes.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${SECS:-20}
PORT=${PORT:-18290}
TARGET=${CARGO_TARGET_DIR:-target}
PY=${HS_AIORTC_PYTHON:-$TARGET/aiortc-venv/bin/python}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then
  cargo build -q --release -p homestream --bin homestream
else
  cargo build -q -p homestream --bin homestream
fi
echo "homestream: $PROFILE build" >&2
"$TARGET/$PROFILE/homestream" serve "$TMP" --bind 127.0.0.1 --port "$PORT" --live cam=publish \
  > "$TMP/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.2; done

"$PY" tests/webrtc/whip_publisher.py "http://127.0.0.1:$PORT/live/cam/whip" $((SECS + 15)) \
  > "$TMP/publisher.json" &
PUB=$!
PIDS+=($PUB)
sleep 4
"$PY" tests/webrtc/whep_viewer.py "http://127.0.0.1:$PORT/live/cam/whep" "$SECS" > "$TMP/via.json"
wait "$PUB" || true
"$PY" bench/whip/direct.py "$SECS" > "$TMP/direct.json"

"$PY" - "$TMP/via.json" "$TMP/direct.json" <<'EOF'
import json, sys
via, direct = (json.load(open(p)) for p in sys.argv[1:3])
print(f"{'path':<36}{'frames':>8}{'p50 ms':>9}{'p95 ms':>9}")
print(f"{'aiortc -> homestream -> aiortc':<36}{via['frames']:>8}{via['latencyP50']:>9.1f}{via['latencyP95']:>9.1f}")
print(f"{'aiortc -> aiortc (direct)':<36}{direct['frames']:>8}{direct['latencyP50']:>9.1f}{direct['latencyP95']:>9.1f}")
added = via['latencyP95'] - direct['latencyP95']
print(f"homestream adds {via['latencyP50'] - direct['latencyP50']:.1f} ms at p50, {added:.1f} ms at p95 (target < 30 ms)")
EOF
