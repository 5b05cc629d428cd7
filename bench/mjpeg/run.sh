#!/bin/sh
# Parser throughput: homestream's parser (criterion) and seed 004's Python parser on the same
# bytes (a stream of 100 frames of 100 KB in the seed's Flask format), printed as a ratio.
# Usage: bench/mjpeg/run.sh        (from the repository root)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
target=${CARGO_TARGET_DIR:-$root/target}
MJPEG_BENCH_DUMP=$tmp cargo bench -p homestream-mjpeg --bench parser -- --noplot
py1=$(python3 "$root/bench/mjpeg/seed_parser.py" "$tmp/flask.bin" 1024)
py64=$(python3 "$root/bench/mjpeg/seed_parser.py" "$tmp/flask.bin" 65536)
python3 - "$target" "$tmp/flask.bin" "$tmp/homestream.bin" "$py1" "$py64" <<'PY'
import json, os, sys
target, flask, hs, py1, py64 = sys.argv[1:]
def rate(name, path):
    est = json.load(open(os.path.join(target, 'criterion', 'parser_100k_frames', name, 'new', 'estimates.json')))
    return os.path.getsize(path) / (est['mean']['point_estimate'] / 1e9) / 1e6
cl, scan = rate('content_length', hs), rate('scanning', flask)
py1, py64 = json.loads(py1), json.loads(py64)
print(f"homestream parser, Content-Length mode : {cl:9.0f} MB/s")
print(f"homestream parser, scanning mode       : {scan:9.0f} MB/s   (same bytes as below)")
print(f"seed 004 Python parser, 1 KiB reads    : {py1['MB_per_s']:9.1f} MB/s   ({py1['frames']} of 100 frames: it loses the last)")
print(f"seed 004 Python parser, 64 KiB reads   : {py64['MB_per_s']:9.1f} MB/s   ({py64['frames']} of 100 frames)")
print(f"ratio scanning / seed (1 KiB reads)    : {scan / py1['MB_per_s']:9.0f}x")
print(f"ratio scanning / seed (64 KiB reads)   : {scan / py64['MB_per_s']:9.0f}x")
PY
