#!/usr/bin/env bash
# Files the browser cannot play, measured as a viewer meets them: for a file played directly,
# remuxed (H.264 + AAC in MPEG-TS) and transcoded (MPEG-4 Part 2 + MP3 in AVI, 720p), each
# 120 s long, on a cold cache:
#   time to first media: the playlist, init segment and first segment (what hls.js fetches
#     before the first frame; for the direct file its first 1 MiB)
#   time after a seek to 70 %: the segment there, asked for cold (a new job starts there)
#   the whole file, segment after segment as fast as it is made: wall time and the CPU
#     seconds of its ffmpeg, against ffmpeg run by hand to write the same HLS (the peer:
#     what a user would otherwise script) in the same run.
# Targets: first media < 1 s for remux and < 2 s for transcode; a seek < 1.5 s / 3 s; CPU of
# a whole transcode within 1.15x of ffmpeg by hand.
#
#   bash bench/transcode/run.sh          # needs ffmpeg, curl
#   BIN=target/release/homestream bash bench/transcode/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in ffmpeg curl python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install ffmpeg curl" >&2; exit 2; }
done
if [ -z "${BIN:-}" ]; then   # BIN=path/to/homestream measures that build instead
  cargo build --release -q -p homestream --no-default-features
  BIN=${CARGO_TARGET_DIR:-target}/release/homestream
fi

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/www" "$work/data"
SECS=120
src=(-f lavfi -i testsrc2=size=1280x720:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 -t $SECS)
x264=(-c:v libx264 -preset veryfast -g 50 -pix_fmt yuv420p)
echo "making three ${SECS} s 720p files in $work ..." >&2
ffmpeg -hide_banner -loglevel error "${src[@]}" "${x264[@]}" -c:a aac -movflags +faststart "$work/www/direct.mp4"
ffmpeg -hide_banner -loglevel error -i "$work/www/direct.mp4" -c copy "$work/www/remux.ts"
ffmpeg -hide_banner -loglevel error "${src[@]}" -c:v mpeg4 -q:v 4 -c:a libmp3lame "$work/www/transcode.avi"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
XDG_DATA_HOME="$work/data" RUST_LOG=warn "$BIN" serve "$work/www" --bind 127.0.0.1 --port "$PORT" >/dev/null 2>&1 &
HS_PID=$!; pids+=($HS_PID)
base="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -sf -o /dev/null "$base/api/status" && break; sleep 0.1; done

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
# Clock ticks of the server's finished children (its ffmpeg jobs), user + system.
child_ticks() { awk '{ print $16 + $17 }' "/proc/$HS_PID/stat"; }
hz=$(getconf CLK_TCK)
fetch() { curl -sf -o /dev/null "$1"; }
plan_of() { curl -sf "$base/api/play/$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("key") or "")'; }

printf "%-12s %-10s %14s %12s\n" "file" "mode" "first media" "after seek"
for f in direct.mp4 remux.ts transcode.avi; do
  t0=$(now)
  key=$(plan_of "$f")
  if [ -z "$key" ]; then
    # Played directly: the first 1 MiB, then a range at 70 %.
    curl -sf -o /dev/null -r 0-1048575 "$base/media/$f"; t1=$(now)
    off=$(( $(stat -c %s "$work/www/$f") * 7 / 10 ))
    t2a=$(now); curl -sf -o /dev/null -r "$off-$((off + 1048575))" "$base/media/$f"; t2=$(now)
    printf "%-12s %-10s %11s ms %9s ms\n" "$f" direct "$(ms "$t0" "$t1")" "$(ms "$t2a" "$t2")"
    continue
  fi
  hls="$base/hls/$f/$key"
  fetch "$hls/index.m3u8"; fetch "$hls/init.mp4"; fetch "$hls/0.m4s"; t1=$(now)
  n=$(grep -c '\.m4s' <(curl -sf "$hls/index.m3u8"))
  seek=$((n * 7 / 10))
  t2a=$(now); fetch "$hls/$seek.m4s"; t2=$(now)
  mode=$([ "${key#vcopy}" != "$key" ] && echo remux || echo transcode)
  printf "%-12s %-10s %11s ms %9s ms\n" "$f" "$mode" "$(ms "$t0" "$t1")" "$(ms "$t2a" "$t2")"
done

# The whole transcode on a cold cache, in order, against ffmpeg by hand: a new server (the
# seek jobs above hold the job slots until they idle out) on a new cache.
kill "$HS_PID"; wait "$HS_PID" 2>/dev/null || true
# Its jobs end with it; wait until they have, so that they take no CPU from the next run.
for _ in $(seq 100); do pgrep -f "ffmpeg .*$work/www" >/dev/null || break; sleep 0.1; done
rm -rf "$work/data"; mkdir -p "$work/data"
XDG_DATA_HOME="$work/data" RUST_LOG=warn "$BIN" serve "$work/www" --bind 127.0.0.1 --port "$PORT" >/dev/null 2>&1 &
HS_PID=$!; pids+=($HS_PID)
for _ in $(seq 100); do curl -sf -o /dev/null "$base/api/status" && break; sleep 0.1; done
key=$(plan_of transcode.avi); hls="$base/hls/transcode.avi/$key"
n=$(grep -c '\.m4s' <(curl -sf "$hls/index.m3u8"))
c0=$(child_ticks); t0=$(now)
fetch "$hls/init.mp4"
for i in $(seq 0 $((n - 1))); do fetch "$hls/$i.m4s"; done
t1=$(now)
sleep 0.5
ours_cpu=$(awk -v a="$c0" -v b="$(child_ticks)" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) / hz }')
ours_wall=$(ms "$t0" "$t1")

mkdir -p "$work/byhand"
read -r hand_wall hand_cpu < <(python3 - "$work" <<'PY'
import os, resource, subprocess, sys, time
work = sys.argv[1]
t0 = time.monotonic()
subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", f"{work}/www/transcode.avi",
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-maxrate", "8M", "-bufsize", "16M",
    "-profile:v", "high", "-pix_fmt", "yuv420p", "-vf", "scale=-2:'trunc(min(ih,1080)/2)*2'",
    "-force_key_frames", "expr:gte(t,n_forced*4)",
    "-c:a", "aac", "-b:a", "160k", "-ac", "2", "-f", "hls", "-hls_time", "4",
    "-hls_segment_type", "fmp4", "-hls_playlist_type", "vod", f"{work}/byhand/index.m3u8"], check=True)
wall = time.monotonic() - t0
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall * 1000:.0f} {r.ru_utime + r.ru_stime:.1f}")
PY
)
echo
printf "%-44s %10s %10s %8s\n" "whole ${SECS} s 720p transcode, cold" "homestream" "by hand" "ratio"
printf "%-44s %10s %10s %8s\n" "  wall time (ms)" "$ours_wall" "$hand_wall" "$(awk -v a="$ours_wall" -v b="$hand_wall" 'BEGIN{printf "%.2fx", a/b}')"
printf "%-44s %10s %10s %8s\n" "  CPU seconds (ours/by hand; lower is better)" "$ours_cpu" "$hand_cpu" "$(awk -v a="$ours_cpu" -v b="$hand_cpu" 'BEGIN{printf "%.2fx", a/b}')"
printf "%-44s %10s\n" "  realtime factor (film secs / wall secs)" "$(awk -v s=$SECS -v w="$ours_wall" 'BEGIN{printf "%.1fx", s*1000/w}')"
echo "homestream peak RSS: $(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$HS_PID/status") MiB (ffmpeg not counted)"
echo "targets: first media < 1000 ms remux, < 2000 ms transcode; seek < 1500 / 3000 ms; CPU ratio <= 1.15x"
