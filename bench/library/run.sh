#!/usr/bin/env bash
# Library serving, side by side: homestream (sendfile path, and `--no-sendfile`, hyper copying
# through user space) vs nginx (sendfile on), on loopback, in the same run. Prints, each with
# its ratio to nginx:
#   whole 200 MiB file, one connection reading it with 1 MiB reads (read_whole.py)
#   whole 200 MiB file under wrk, 1 and 16 connections (MB/s)
#   random 1 MiB ranges of a 1 GiB file, 64 keep-alive connections, at any byte offset (what
#   a seeking player asks) and at multiples of 1 MiB: requests/s and p99 latency
# and both homestream processes' peak RSS. Targets: ranges >= 1.1x nginx's requests/s with
# p99 <= nginx's; whole files >= 1.0x; peak RSS < 64 MiB.
#
#   bash bench/library/run.sh            # needs nginx, wrk (apt-get install nginx-light wrk)
#   DURATION=20 bash bench/library/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
for tool in nginx wrk; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install nginx-light wrk" >&2; exit 2; }
done
cargo build --release -q -p homestream --no-default-features  # the desktop window is not measured
BIN=${CARGO_TARGET_DIR:-target}/release/homestream

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

chmod 755 "$work"
mkdir -p "$work/www"
echo "making test files in $work ..." >&2
head -c $((200 << 20)) /dev/urandom > "$work/www/whole.mp4"
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
RUST_LOG=warn "$BIN" serve "$work/www" --bind 127.0.0.1 --port "$COPY_PORT" --no-sendfile >/dev/null 2>&1 & COPY_PID=$!; pids+=($COPY_PID)
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

row() { # label value-sendfile value-copying value-nginx unit [lower-is-better]
  local r1 r2
  if [ -n "${6:-}" ]; then r1=$(ratio "$4" "$2"); r2=$(ratio "$4" "$3"); else r1=$(ratio "$2" "$4"); r2=$(ratio "$3" "$4"); fi
  printf "%-38s %10s %10s %10s %-5s %7s %7s\n" "$1" "$2" "$3" "$4" "$5" "$r1" "$r2"
}
printf "%-38s %10s %10s %10s %-5s %7s %7s\n" "test (${DURATION}s each, loopback)" "sendfile" "copying" "nginx" "unit" "sf/ngx" "cp/ngx"
whole() { python3 bench/library/read_whole.py 127.0.0.1 "$1" /media/whole.mp4 "$DURATION"; }
row "whole 200 MiB, 1 conn, 1 MiB reads" "$(whole "$HS_PORT")" "$(whole "$COPY_PORT")" "$(whole "$NGINX_PORT")" "MB/s"
for spec in "whole 200 MiB, wrk 1 conn:1:1" "whole 200 MiB, wrk 16 conns:16:2"; do
  IFS=: read -r label conns threads <<<"$spec"
  read -r h _ _ <<<"$(measure "http://127.0.0.1:$HS_PORT/media/whole.mp4" "$conns" "$threads")"
  read -r c _ _ <<<"$(measure "http://127.0.0.1:$COPY_PORT/media/whole.mp4" "$conns" "$threads")"
  read -r n _ _ <<<"$(measure "http://127.0.0.1:$NGINX_PORT/media/whole.mp4" "$conns" "$threads")"
  row "$label" "$h" "$c" "$n" "MB/s"
done
for aligned in 0 1; do
  export ALIGNED=$aligned
  label=$([ "$aligned" = 1 ] && echo "aligned" || echo "any offset")
  read -r _ h_rps h_p99 <<<"$(measure "http://127.0.0.1:$HS_PORT/media/big.mp4" 64 2 bench/library/range.lua)"
  read -r _ c_rps c_p99 <<<"$(measure "http://127.0.0.1:$COPY_PORT/media/big.mp4" 64 2 bench/library/range.lua)"
  read -r _ n_rps n_p99 <<<"$(measure "http://127.0.0.1:$NGINX_PORT/media/big.mp4" 64 2 bench/library/range.lua)"
  row "1 MiB ranges of 1 GiB, $label, 64c" "$h_rps" "$c_rps" "$n_rps" "r/s"
  row "  p99 latency (ratio: nginx/ours)" "$h_p99" "$c_p99" "$n_p99" "ms" lower
done
rss() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
echo "homestream peak RSS: sendfile $(rss "$HS_PID") MiB, copying $(rss "$COPY_PID") MiB (target < 64 MiB)"
echo "targets: ranges >= 1.10x r/s with p99 ratio >= 1.00x; whole file >= 1.00x"
