#!/usr/bin/env bash
# Live MJPEG fan-out: homestream vs the seed's design (Flask + gunicorn gevent workers), same
# frames (1280x720 test pattern, 30 fps), same load client, same run.
#
#   bench/live/run.sh                 # N = 10 100 300 600 1000
#   NS="10 100" SECS=5 bench/live/run.sh
#   SERVER=binary bench/live/run.sh   # serve with the homestream binary (its own accept loop,
#                                     # request log and auth gate) instead of the live crate's
#                                     # example server
#
# Prints per server and N: connected viewers, per-viewer fps (min / median), server CPU (% of
# one core), server RSS, p50/p99 delay (receive time of a part's last byte minus its
# X-Timestamp), and RSS growth per viewer relative to the N=10 run.
# Needs: cargo, ffmpeg (to cut the seed's frames from our stream), python3 with venv + pip
# (Flask, gunicorn, gevent are pip-installed into a venv in a temp dir; SEED_VENV=DIR reuses one).
set -euo pipefail
cd "$(dirname "$0")/../.."
NS=${NS:-"10 100 300 600 1000"}
SECS=${SECS:-10}
WARMUP=${WARMUP:-3}
RES=${RES:-1280x720}
FPS=${FPS:-30}
PORT_HS=${PORT_HS:-18090}
PORT_SEED=${PORT_SEED:-18091}
TARGET=${CARGO_TARGET_DIR:-target}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
command -v ffmpeg >/dev/null || { echo "ffmpeg is required" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "== building (release)" >&2
cargo build --release -q -p homestream-live-http --example live_serve --example live_load
SERVER=${SERVER:-example}
[ "$SERVER" = binary ] && cargo build --release -q -p homestream
SERVE=$TARGET/release/examples/live_serve
LOAD=$TARGET/release/examples/live_load

VENV=${SEED_VENV:-$TMP/venv}
if ! "$VENV/bin/python" -c "import flask, gunicorn, gevent, packaging" 2>/dev/null; then
  echo "== pip-installing Flask, gunicorn, gevent into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q flask gunicorn gevent packaging
fi

wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }

echo "== starting homestream ($SERVER) on :$PORT_HS" >&2
if [ "$SERVER" = binary ]; then
  mkdir -p "$TMP/empty"
  RUST_LOG=warn "$TARGET/release/homestream" serve "$TMP/empty" --bind 127.0.0.1 --port "$PORT_HS" \
    --live "demo=test:$RES@$FPS" >"$TMP/hs.log" 2>&1 &
else
  RUST_LOG=warn "$SERVE" --bind "127.0.0.1:$PORT_HS" --live "demo=test:$RES@$FPS" --grace 3600 >"$TMP/hs.log" 2>&1 &
fi
HS_PID=$!; PIDS+=("$HS_PID")
wait_port "$PORT_HS"

echo "== cutting 30 frames of the same stream for the seed's camera emulator" >&2
mkdir -p "$TMP/frames"
ffmpeg -hide_banner -loglevel error -f mpjpeg -i "http://127.0.0.1:$PORT_HS/live/demo/stream.mjpg" \
  -frames:v 30 -c:v copy "$TMP/frames/%03d.jpg"
FRAME_KB=$(du -k "$TMP/frames" | cut -f1)
echo "   frames: $(ls "$TMP/frames" | wc -l), $((FRAME_KB / 30)) KiB each on average" >&2

echo "== starting the seed (gunicorn -k gevent -w 2) on :$PORT_SEED" >&2
FRAMES_DIR="$TMP/frames" FPS=$FPS "$VENV/bin/gunicorn" -k gevent -w 2 --worker-connections 4000 \
  --backlog 2048 -b "127.0.0.1:$PORT_SEED" --chdir bench/live --log-level warning seed_app:app \
  >"$TMP/seed.log" 2>&1 &
SEED_PID=$!; PIDS+=("$SEED_PID")
wait_port "$PORT_SEED"
sleep 1
SEED_PIDS="$SEED_PID,$(pgrep -P "$SEED_PID" | paste -sd, -)"

run() { # name url pids n
  "$LOAD" "$2" "$4" --warmup "$WARMUP" --secs "$SECS" --pids "$3" 2>>"$TMP/load.err"
}

echo "machine: $(nproc) cores; load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n%-10s %5s %9s %8s %8s %7s %8s %9s %9s %11s %6s\n' server N connected fps_min fps_med cpu% rss_MiB p50_ms p99_ms KiB/viewer load1
declare -A BASE
for n in $NS; do
  for s in homestream seed; do
    if [ $s = homestream ]; then
      url="http://127.0.0.1:$PORT_HS/live/demo/stream.mjpg"; pids=$HS_PID
    else
      url="http://127.0.0.1:$PORT_SEED/video_feed"; pids=$SEED_PIDS
    fi
    j=$(run $s "$url" "$pids" "$n")
    echo "$s $j" >>"$TMP/results.jsonl"
    python3 - "$s" "$n" "$j" "${BASE[$s]:-}" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
s, n, j, base, load = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
rss = j["server_rss_kib"]
per = "-" if not base or n <= 10 else "%.1f" % ((rss - float(base)) / (n - 10))
print("%-10s %5d %9d %8.1f %8.1f %7.0f %8.1f %9.1f %9.1f %11s %6s" % (
    s, n, j["connected"], j["fps_min"], j["fps_median"], j["server_cpu_pct"], rss / 1024,
    j["delay_p50_ms"], j["delay_p99_ms"], per, load), flush=True)
PY
    if [ "$n" = 10 ]; then BASE[$s]=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["server_rss_kib"])' "$j"); fi
    sleep 2
  done
done
echo
echo "targets: homestream median >= 29 fps at 600 viewers; p99 delay < 50 ms at 100; RSS growth < 64 KiB/viewer" >&2
if [ -s "$TMP/load.err" ]; then echo "load client messages:" >&2; sort "$TMP/load.err" | uniq -c | head >&2; fi
