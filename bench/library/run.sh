#!/usr/bin/env bash
# Library serving, side by side: homestream vs nginx (sendfile on) on loopback, measured with
# wrk in the same run. Prints whole-file MB/s (1 and 16 connections), random 1 MiB range
# requests/s and p99 latency (64 connections), the ratios to nginx, and homestream's peak RSS.
# A last row shows the ranges again with `--no-sendfile` (hyper copying through user space),
# which is what the sendfile path buys.
#
#   bash bench/library/run.sh            # needs nginx, wrk (apt-get install nginx-light wrk)
#   DURATION=20 bash bench/library/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
for tool in nginx wrk; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install nginx-light wrk" >&2; exit 2; }
done
cargo build --release -q -p homestream
BIN=${CARGO_TARGET_DIR:-target}/release/homestream

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

chmod 755 "$work"
mkdir -p "$work/www"
echo "making test files in $work ..." >&2
head -c $((64 << 20)) /dev/urandom > "$work/www/whole.mp4"
head -c $((1 << 30)) /dev/urandom > "$work/www/big.mp4"
chmod 644 "$work/www/"*
export BENCH_FILE_SIZE=$((1 << 30))

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NGINX_PORT=$(free_port); HS_PORT=$(free_port); COPY_PORT=$(free_port)

cat > "$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 1000000;
  types { video/mp4 mp4; }
  server { listen 127.0.0.1:$NGINX_PORT; root $work/www; location /media/ { alias $work/www/; } }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
RUST_LOG=warn "$BIN" serve "$work/www" --bind 127.0.0.1 --port "$HS_PORT" >/dev/null 2>&1 & HS_PID=$!; pids+=($HS_PID)
RUST_LOG=warn "$BIN" serve "$work/www" --bind 127.0.0.1 --port "$COPY_PORT" --no-sendfile >/dev/null 2>&1 & pids+=($!)
sleep 1
curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/media/whole.mp4" || { echo "nginx did not start" >&2; cat "$work/nginx-error.log" >&2; exit 1; }
curl -sf -o /dev/null "http://127.0.0.1:$HS_PORT/media/whole.mp4" || { echo "homestream did not start" >&2; exit 1; }
# Both read the same page cache: warm it once.
cat "$work/www/"*.mp4 > /dev/null

# wrk figures: transfer MB/s, requests/s, p99 ms.
measure() { # url conns threads [script]
  local out
  if [ -n "${4:-}" ]; then
    out=$(wrk -t"$3" -c"$2" -d"${DURATION}s" --latency -s "$4" "$1")
  else
    out=$(wrk -t"$3" -c"$2" -d"${DURATION}s" --latency "$1")
  fi
  local mbs rps p99
  mbs=$(awk '/Transfer\/sec/ {v=$2; u=substr(v,length(v)-1); n=substr(v,1,length(v)-2); f=(u=="GB")?1024:(u=="MB")?1:(u=="KB")?1/1024:1/1048576; printf "%.1f", n*f*1.048576}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /ms$/) {sub("ms","",v); print v} else if (v ~ /us$/) {sub("us","",v); print v/1000} else {sub("s","",v); print v*1000}}' <<<"$out")
  echo "$mbs $rps $p99"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }

printf "%-34s %14s %14s %8s\n" "test (${DURATION}s each, wrk, loopback)" "homestream" "nginx" "ratio"
for spec in "whole 64 MiB, 1 conn:1:1" "whole 64 MiB, 16 conns:16:2"; do
  IFS=: read -r label conns threads <<<"$spec"
  read -r h_mbs _ _ <<<"$(measure "http://127.0.0.1:$HS_PORT/media/whole.mp4" "$conns" "$threads")"
  read -r n_mbs _ _ <<<"$(measure "http://127.0.0.1:$NGINX_PORT/media/whole.mp4" "$conns" "$threads")"
  printf "%-34s %11s MB/s %9s MB/s %8s\n" "$label" "$h_mbs" "$n_mbs" "$(ratio "$h_mbs" "$n_mbs")"
done
read -r _ h_rps h_p99 <<<"$(measure "http://127.0.0.1:$HS_PORT/media/big.mp4" 64 2 bench/library/range.lua)"
read -r _ n_rps n_p99 <<<"$(measure "http://127.0.0.1:$NGINX_PORT/media/big.mp4" 64 2 bench/library/range.lua)"
printf "%-34s %11s r/s %10s r/s %8s\n" "random 1 MiB ranges of 1 GiB, 64c" "$h_rps" "$n_rps" "$(ratio "$h_rps" "$n_rps")"
printf "%-34s %12s ms %11s ms %8s\n" "  p99 latency (lower is better)" "$h_p99" "$n_p99" "$(ratio "$n_p99" "$h_p99")"
read -r _ c_rps c_p99 <<<"$(measure "http://127.0.0.1:$COPY_PORT/media/big.mp4" 64 2 bench/library/range.lua)"
printf "%-34s %11s r/s %10s r/s %8s\n" "  same with --no-sendfile" "$c_rps" "$n_rps" "$(ratio "$c_rps" "$n_rps")"
printf "%-34s %12s ms %11s ms %8s\n" "  p99 with --no-sendfile" "$c_p99" "$n_p99" "$(ratio "$n_p99" "$c_p99")"
rss=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$HS_PID/status")
echo "homestream peak RSS: ${rss} MiB (target < 64 MiB)"
